"""The vrs-import api: `create_app(settings)` is the composition root; nothing happens at import."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from quintet_service import create_service_app
from vrs_import import SCHEMA, SERVICE
from vrs_import.api.routes import routes
from vrs_import.keys import SETTINGS, SOLVER
from vrs_import.settings import Settings
from vrs_import.solver.client import SolverClient


def solver_client(settings: Settings) -> SolverClient:
    return SolverClient(
        settings.solver_url, timeout_s=settings.solver_timeout_s, attempts=settings.solver_attempts
    )


def create_app(settings: Settings) -> web.Application:
    app = create_service_app(SERVICE, SCHEMA, settings, [routes])
    app[SETTINGS] = settings

    async def solver_ctx(app: web.Application) -> AsyncIterator[None]:
        app[SOLVER] = solver_client(settings)
        yield
        await app[SOLVER].close()

    app.cleanup_ctx.append(solver_ctx)
    return app
