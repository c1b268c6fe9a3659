"""A service's one declaration: everything the platform composes for it comes from here."""

from __future__ import annotations

import asyncio
import importlib
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

import quintet_messaging
from quintet_runtime import PlatformSettings


def resolve(reference: Any) -> Any:
    """`"package.module:name"` → the object (imported only when first used); an object is itself."""
    if not isinstance(reference, str):
        return reference
    module_name, _, attribute = reference.partition(":")
    if not attribute:
        raise ValueError(f"{reference!r} is not of the form 'package.module:name'")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class ServiceDeclaration:
    """What a service is: its names, where its settings, routes, errors and worker come from.

    References are import strings (`"posm.settings:Settings"`) so that declaring a service in its
    package's `__init__` imports nothing else (no import cycles, nothing happens at import time).
    """

    name: str
    package: str
    schema: str
    settings: str | type[PlatformSettings]
    routes: Any  # "pkg.api.routes:routes" or the RouteTable itself
    errors: Any = None  # "pkg.errors:ERRORS" or the ErrorTable itself
    worker: Any = None  # "pkg.worker:build_worker" or the function itself
    # Names of Settings fields holding S3 buckets the service writes; created at startup if missing.
    buckets: Sequence[str] = ()
    # Extra keyword arguments for the api's asyncpg pool (e.g. a custom `reset`).
    pool_options: Mapping[str, Any] = field(default_factory=dict)
    worker_min_pool: int = 4
    # Where the service's own migrations are; default `services/<name>/migrations` beside `src/`.
    migrations: Path | None = None

    @cached_property
    def settings_class(self) -> type[PlatformSettings]:
        cls = resolve(self.settings)
        if not (isinstance(cls, type) and issubclass(cls, PlatformSettings)):
            raise TypeError(f"{self.settings} is not a PlatformSettings subclass")
        return cls

    @property
    def migrations_dir(self) -> Path:
        """`services/<name>/migrations`, beside the package's `src/` folder (unless declared)."""
        if self.migrations is not None:
            return self.migrations
        package = importlib.import_module(self.package)
        assert package.__file__ is not None
        return Path(package.__file__).resolve().parents[2] / "migrations"

    @property
    def migration_sources(self) -> list[Path]:
        """The messaging tables (outbox, inbox, schedules, parked messages) first, then the service's."""
        return [quintet_messaging.MIGRATIONS_DIR, self.migrations_dir]

    def load_settings(self, **overrides: Any) -> PlatformSettings:
        """The settings from the environment, with `overrides` on top (tests, tools)."""
        return self.settings_class(**overrides)

    def bucket_names(self, settings: PlatformSettings) -> list[str]:
        return [str(getattr(settings, name)) for name in self.buckets]

    def create_app(self, settings: PlatformSettings) -> web.Application:
        """The service's api, composed by the platform (see `quintet_service.app`)."""
        from quintet_service.app import create_service_app

        return create_service_app(self, settings)

    def build_worker(self, settings: PlatformSettings, pool: asyncpg.Pool, s3: Any) -> Any:
        """The service's `quintet_messaging.Worker`, wired by its `build_worker(settings, pool, s3)`."""
        if self.worker is None:
            raise RuntimeError(f"{self.name} declares no worker")
        return resolve(self.worker)(settings, pool, s3)

    async def run_worker(self, settings: PlatformSettings) -> None:
        """The worker process: its pool and S3 client for the process's lifetime, then the Worker,
        until it fails or SIGTERM / SIGINT stops it (then it stops as it would when cancelled:
        consumers closed, its own processes ended, nothing left running)."""
        from quintet_service.app import worker_resources

        async with worker_resources(
            settings, self.schema, min_pool=self.worker_min_pool, buckets=self.bucket_names(settings)
        ) as (pool, s3):
            running = asyncio.ensure_future(self.build_worker(settings, pool, s3).run())
            signalled: list[int] = []

            def stop(signum: int) -> None:
                signalled.append(signum)
                running.cancel()

            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop, signum)
            try:
                await running
            except asyncio.CancelledError:
                if not signalled:
                    raise  # cancelled from outside: stays a cancellation
            finally:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)

    def main(self, argv: list[str] | None = None) -> int:
        """`python -m <package> api|worker|migrate`; the exit status."""
        from quintet_service.cli import service_main

        return service_main(self, argv)

    def run_worker_sync(self, settings: PlatformSettings) -> None:
        asyncio.run(self.run_worker(settings))
