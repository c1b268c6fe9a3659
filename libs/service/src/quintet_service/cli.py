"""`python -m <package> api|worker|migrate`: the same three commands for every service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from quintet_db import migrate
from quintet_runtime import PlatformSettings, configure_logging
from quintet_runtime.cli import run_cli
from quintet_web import run_app

S = TypeVar("S", bound=PlatformSettings)


def service_main(
    service: str,
    schema: str,
    migration_sources: Sequence[Path],
    settings_factory: Callable[[], S],
    create_app: Callable[[S], web.Application],
    run_worker: Callable[[S], Coroutine[Any, Any, None]],
    argv: list[str] | None = None,
) -> int:
    """Read the settings, configure logging, run the named command; the exit status for sys.exit."""
    settings = settings_factory()
    configure_logging(service, json=settings.json_logs, level=settings.log_level)
    return run_cli(
        service,
        {
            "api": lambda: run_app(create_app(settings), settings.host, settings.port),
            "worker": lambda: asyncio.run(run_worker(settings)),
            "migrate": lambda: migrate(settings.pg_dsn, schema, migration_sources),
        },
        argv,
    )
