"""Typed application keys of the vrs-import api (the pool and settings keys are the platform's), and
the solver client's cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from quintet_service import PG_POOL, SETTINGS
from vrs_import.settings import Settings
from vrs_import.solver.client import SolverClient

SOLVER = web.AppKey("solver", SolverClient)


def solver_client(settings: Settings) -> SolverClient:
    return SolverClient(
        settings.solver_url, timeout_s=settings.solver_timeout_s, attempts=settings.solver_attempts
    )


async def solver_ctx(app: web.Application) -> AsyncIterator[None]:
    """The process's one solver client (one aiohttp session), closed with the app."""
    settings = app[SETTINGS]
    assert isinstance(settings, Settings)
    app[SOLVER] = solver_client(settings)
    yield
    await app[SOLVER].close()


__all__ = ["PG_POOL", "SOLVER", "solver_client", "solver_ctx"]
