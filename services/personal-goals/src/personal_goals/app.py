"""The personal-goals api: `create_app(settings)` is the composition root; nothing happens at import."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from personal_goals import SCHEMA, SERVICE
from personal_goals.api.routes import routes
from personal_goals.keys import PG_POOL, S3_CLIENT, SETTINGS
from personal_goals.settings import Settings
from quintet_db import pool_cleanup_ctx
from quintet_messaging import broker_ready
from quintet_s3.store import s3_client
from quintet_web import create_base_app


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
            app[S3_CLIENT] = client
            yield

    app = create_base_app(
        SERVICE,
        jwt_secret=settings.jwt_secret,
        routes=[routes],
        readiness={"database": database_ready, "broker": broker_is_ready},
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(pool_cleanup_ctx(PG_POOL, settings.pg_dsn, SCHEMA, max_size=settings.pg_pool_max))
    app.cleanup_ctx.append(s3_ctx)
    return app
