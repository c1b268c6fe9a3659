"""The segments api: `create_app(settings)` is the composition root; nothing happens at import."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web

from quintet_db import create_pool
from quintet_messaging import broker_ready
from quintet_s3 import ObjectStore, s3_client
from quintet_web import create_base_app
from segments import SCHEMA, SERVICE
from segments.api.routes import routes
from segments.keys import PG_POOL, S3_CLIENT, SETTINGS
from segments.settings import Settings


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (a second round trip on every pooled read, which
    halves the hot GET's throughput). Safe here: the api never changes session state (no SET, no
    LISTEN, no session-level advisory locks, no open cursors); asyncpg still rolls back a
    transaction left open on release."""


def create_app(settings: Settings) -> web.Application:
    app: web.Application

    async def database_ready() -> None:
        await app[PG_POOL].fetchval("SELECT 1")

    async def broker_is_ready() -> None:
        await broker_ready(settings.amqp_url)

    async def s3_ctx(app: web.Application) -> AsyncIterator[None]:
        async with s3_client(
            settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_region
        ) as client:
            # Reports are uploaded by the worker and streamed from here: the bucket must exist.
            await ObjectStore(client).ensure_bucket(settings.reports_bucket)
            app[S3_CLIENT] = client
            yield

    app = create_base_app(
        SERVICE,
        jwt_secret=settings.jwt_secret,
        routes=[routes],
        readiness={"database": database_ready, "broker": broker_is_ready},
    )
    app[SETTINGS] = settings

    async def pg_ctx(app: web.Application) -> AsyncIterator[None]:
        # quintet_db.pool_cleanup_ctx cannot pass `reset` through yet (requested from the db lib).
        app[PG_POOL] = await create_pool(
            settings.pg_dsn, SCHEMA, max_size=settings.pg_pool_max, reset=_keep_session
        )
        yield
        await app[PG_POOL].close()

    app.cleanup_ctx.append(pg_ctx)
    app.cleanup_ctx.append(s3_ctx)
    return app
