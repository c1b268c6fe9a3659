"""`python -m quintet_console [--host H] [--port P]`: serve the console (default 127.0.0.1:8089)."""

from __future__ import annotations

import argparse
import os

from quintet_console.app import create_app
from quintet_runtime import PlatformSettings, configure_logging
from quintet_web import run_app


def main() -> None:
    settings = PlatformSettings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=int(os.environ.get("QUINTET_CONSOLE_PORT", "8089")))
    args = parser.parse_args()
    configure_logging("console", json=settings.json_logs, level=settings.log_level)
    run_app(create_app(settings), args.host, args.port)


if __name__ == "__main__":
    main()
