"""`python -m segments api|worker|migrate`."""

from __future__ import annotations

import asyncio
import sys

from quintet_db import migrate
from quintet_runtime import configure_logging
from quintet_runtime.cli import run_cli
from quintet_web import run_app
from segments import SCHEMA, SERVICE
from segments.app import create_app
from segments.migrations import MIGRATION_SOURCES
from segments.settings import Settings
from segments.worker import run_worker


def main() -> int:
    settings = Settings()
    configure_logging(SERVICE, json=settings.json_logs, level=settings.log_level)
    return run_cli(
        SERVICE,
        {
            "api": lambda: run_app(create_app(settings), settings.host, settings.port),
            "worker": lambda: asyncio.run(run_worker(settings)),
            "migrate": lambda: migrate(settings.pg_dsn, SCHEMA, MIGRATION_SOURCES),
        },
    )


if __name__ == "__main__":
    sys.exit(main())
