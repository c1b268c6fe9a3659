"""`python -m <package> api|worker|migrate`: the same three commands for every service."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def run_cli(service: str, commands: dict[str, Callable[[], object]], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {service.replace('-', '_')}")
    parser.add_argument("command", choices=sorted(commands), help="process kind to run")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    result = commands[args.command]()
    return result if isinstance(result, int) else 0
