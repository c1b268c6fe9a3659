"""`python -m personal_goals api|worker|migrate`."""

from __future__ import annotations

import asyncio
import sys

from personal_goals import SCHEMA, SERVICE
from personal_goals.app import create_app
from personal_goals.migrations import MIGRATION_SOURCES
from personal_goals.settings import Settings
from personal_goals.worker import run_worker
from quintet_db import migrate
from quintet_runtime import configure_logging
from quintet_runtime.cli import run_cli
from quintet_web import run_app


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
