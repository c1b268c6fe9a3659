"""`python -m <package> api|worker|migrate|parked ...`: the same commands for every service."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from quintet_db import PoolTimeouts, create_pool, migrate
from quintet_messaging import parked
from quintet_runtime import PlatformSettings, configure_logging
from quintet_runtime.cli import run_cli
from quintet_web import run_app

if TYPE_CHECKING:
    from quintet_service.declaration import ServiceDeclaration


def service_main(service: ServiceDeclaration, argv: list[str] | None = None) -> int:
    """Read the settings, configure logging, run the named command; the exit status for sys.exit."""
    settings = service.load_settings()
    configure_logging(service.name, json=settings.json_logs, level=settings.log_level)
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["parked"]:
        return parked_main(service, settings, args[1:])
    return run_cli(
        service.name,
        {
            "api": lambda: run_app(service.create_app(settings), settings.host, settings.port),
            "worker": lambda: service.run_worker_sync(settings),
            "migrate": lambda: migrate(settings.pg_dsn, service.schema, service.migration_sources),
            "parked": lambda: None,  # listed in the usage; handled above (it has subcommands)
        },
        args,
    )


def parked_main(service: ServiceDeclaration, settings: PlatformSettings, argv: list[str]) -> int:
    """`parked list [--reason R] | show ID | replay ID|--all | discard ID|--all`, on stdout."""
    args = parked.parser(f"python -m {service.package} parked").parse_args(argv)

    async def run() -> int:
        pool = await create_pool(
            settings.pg_dsn, service.schema, min_size=1, max_size=1, timeouts=PoolTimeouts.of(settings)
        )
        try:
            return await parked.run_command(pool, service.name, args, sys.stdout)
        finally:
            await pool.close()

    return asyncio.run(run())
