"""The segments api: `create_app(settings)` is the composition root; nothing happens at import."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from quintet_service import create_service_app
from segments import SCHEMA, SERVICE
from segments.api.routes import routes
from segments.keys import SETTINGS
from segments.settings import Settings


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (a second round trip on every pooled read, which
    halves the hot GET's throughput). Safe here: the api never changes session state (no SET, no
    LISTEN, no session-level advisory locks, no open cursors); asyncpg still rolls back a
    transaction left open on release."""


def create_app(settings: Settings) -> web.Application:
    # Reports are uploaded by the worker and streamed from here: the bucket must exist.
    app = create_service_app(
        SERVICE,
        SCHEMA,
        settings,
        [routes],
        buckets=[settings.reports_bucket],
        pool_options={"reset": _keep_session},
    )
    app[SETTINGS] = settings
    return app
