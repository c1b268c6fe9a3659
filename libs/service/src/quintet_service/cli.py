"""`python -m <package> api|worker|migrate`: the same commands for every service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quintet_db import migrate
from quintet_runtime import configure_logging
from quintet_runtime.cli import run_cli
from quintet_web import run_app

if TYPE_CHECKING:
    from quintet_service.declaration import ServiceDeclaration


def service_main(service: ServiceDeclaration, argv: list[str] | None = None) -> int:
    """Read the settings, configure logging, run the named command; the exit status for sys.exit."""
    settings = service.load_settings()
    configure_logging(service.name, json=settings.json_logs, level=settings.log_level)
    return run_cli(
        service.name,
        {
            "api": lambda: run_app(service.create_app(settings), settings.host, settings.port),
            "worker": lambda: service.run_worker_sync(settings),
            "migrate": lambda: migrate(settings.pg_dsn, service.schema, service.migration_sources),
        },
        argv,
    )
