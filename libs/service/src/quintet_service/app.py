"""The api app and the worker resources of a service: one pool and one S3 client per process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiohttp import web

from quintet_db import create_pool
from quintet_messaging import broker_ready
from quintet_runtime import PlatformSettings
from quintet_s3 import ObjectStore, s3_client
from quintet_web import RouteTable, create_base_app
from quintet_web.routes import PUBLIC_URL

PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
# The process-wide aioboto3 S3 client (its class is generated at runtime, hence Any).
S3_CLIENT = web.AppKey("s3_client", Any)


@asynccontextmanager
async def _s3(settings: PlatformSettings, buckets: Iterable[str]) -> AsyncIterator[Any]:
    async with s3_client(
        settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_region
    ) as client:
        store = ObjectStore(client)
        for bucket in buckets:
            await store.ensure_bucket(bucket)
        yield client


def create_service_app(
    service: str,
    schema: str,
    settings: PlatformSettings,
    routes: list[RouteTable],
    *,
    buckets: Iterable[str] = (),
    pool_options: Mapping[str, Any] | None = None,
) -> web.Application:
    """The service's api: handlers find the pool at `app[PG_POOL]` and the S3 client at `app[S3_CLIENT]`.

    `buckets` are created at startup if missing; `pool_options` go to `asyncpg.create_pool`.
    """
    app: web.Application

    async def database_ready() -> None:
        await app[PG_POOL].fetchval("SELECT 1")

    async def broker_is_ready() -> None:
        if not await broker_ready(settings.amqp_url):
            raise ConnectionError("the broker does not accept connections")

    app = create_base_app(
        service,
        jwt_secret=settings.jwt_secret,
        routes=routes,
        readiness={"database": database_ready, "broker": broker_is_ready},
    )
    if settings.public_url:
        app[PUBLIC_URL] = settings.public_url

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        app[PG_POOL] = await create_pool(
            settings.pg_dsn, schema, max_size=settings.pg_pool_max, **dict(pool_options or {})
        )
        yield
        await app[PG_POOL].close()

    async def s3_ctx(app: web.Application) -> AsyncIterator[None]:
        async with _s3(settings, buckets) as client:
            app[S3_CLIENT] = client
            yield

    app.cleanup_ctx.append(pool_ctx)
    app.cleanup_ctx.append(s3_ctx)
    return app


@asynccontextmanager
async def worker_resources(
    settings: PlatformSettings, schema: str, *, min_pool: int = 4, buckets: Iterable[str] = ()
) -> AsyncIterator[tuple[asyncpg.Pool, Any]]:
    """The worker's pool (at least `min_pool` connections) and S3 client; both closed on exit."""
    pool = await create_pool(settings.pg_dsn, schema, max_size=max(settings.pg_pool_max, min_pool))
    try:
        async with _s3(settings, buckets) as client:
            yield pool, client
    finally:
        await asyncio.shield(pool.close())  # a cancelled worker still closes its connections
