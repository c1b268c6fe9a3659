"""`python -m <package> api|worker|migrate`: the same three commands for every service."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import structlog


def run_cli(service: str, commands: dict[str, Callable[[], object]], argv: list[str] | None = None) -> int:
    """Run one command and exit 0 when it returns; a failing command raises (exit 1 with a traceback).

    What the command returns (the number of migrations applied, say) is logged, never used as the
    exit status.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {service.replace('-', '_')}")
    parser.add_argument("command", choices=sorted(commands), help="process kind to run")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    result = commands[args.command]()
    structlog.get_logger(service).info("command finished", command=args.command, result=result)
    return 0
