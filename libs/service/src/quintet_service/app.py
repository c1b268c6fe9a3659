"""The api app and the worker resources of a service: one pool and one S3 client per process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from aiohttp import web
from prometheus_client import Gauge

from quintet_db import PoolTimeouts, create_pool
from quintet_messaging import broker_ready
from quintet_messaging.parked import PARK_KINDS, parked_counts
from quintet_runtime import PlatformSettings
from quintet_s3 import ObjectStore, s3_client
from quintet_web import ErrorMapping, ErrorTable, create_base_app
from quintet_web.routes import PUBLIC_URL

if TYPE_CHECKING:
    from quintet_service.declaration import ServiceDeclaration

PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
# The process-wide aioboto3 S3 client (its class is generated at runtime, hence Any).
S3_CLIENT = web.AppKey("s3_client", Any)
SETTINGS = web.AppKey("settings", PlatformSettings)

S = TypeVar("S", bound=PlatformSettings)

PARKED_MESSAGES = Gauge(
    "parked_messages", "Messages parked (given up) and not yet replayed or discarded", ["service", "kind"]
)

# The database refusing to wait any longer is the service being busy, answered alike everywhere.
DATABASE_ERRORS = ErrorTable(
    {
        asyncpg.exceptions.QueryCanceledError: ErrorMapping(
            503, "timeout", "the service is busy; retry shortly", retry_after=1
        ),
        asyncpg.exceptions.LockNotAvailableError: ErrorMapping(
            503, "busy", "the data is being changed; retry shortly", retry_after=1
        ),
        asyncpg.exceptions.TooManyConnectionsError: ErrorMapping(
            503, "busy", "the service is busy; retry shortly", retry_after=1
        ),
    }
)


# /ready opens a broker connection to answer; however often it is polled, at most once per this long.
BROKER_CHECK_TTL = 5.0


class _CachedCheck:
    """One probe at a time, its answer reused for `ttl` seconds (a poller cannot multiply probes)."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._lock = asyncio.Lock()
        self._answer: tuple[float, bool] | None = None

    async def __call__(self, probe: Callable[[], Awaitable[bool]]) -> bool:
        async with self._lock:
            now = time.monotonic()
            if self._answer is None or now - self._answer[0] >= self._ttl:
                self._answer = (now, await probe())
            return self._answer[1]


# Stopping waits this long for connections in use to come back, then closes them regardless: a
# process must stop even if a connection is stuck (a half-open socket, a query that ignores cancel).
POOL_CLOSE_TIMEOUT = 10.0


async def close_pool(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), POOL_CLOSE_TIMEOUT)
    except TimeoutError:
        pool.terminate()


def app_settings(request: web.Request, settings_class: type[S]) -> S:
    """The service's typed settings from a handler's request."""
    settings = request.config_dict[SETTINGS]
    assert isinstance(settings, settings_class), type(settings)
    return settings


@asynccontextmanager
async def _s3(settings: PlatformSettings, buckets: Iterable[str]) -> AsyncIterator[Any]:
    async with s3_client(
        settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_region
    ) as client:
        store = ObjectStore(client)
        for bucket in buckets:
            await store.ensure_bucket(bucket)
        yield client


def create_service_app(service: ServiceDeclaration, settings: PlatformSettings) -> web.Application:
    """The service's api: the platform edge (quintet_web) with the service's routes and error table,
    the process-wide pool (`app[PG_POOL]`) and S3 client (`app[S3_CLIENT]`) as cleanup contexts, the
    settings at `app[SETTINGS]`, and `/ready` checking the database and the broker."""
    from quintet_service.declaration import resolve

    app: web.Application

    async def database_ready() -> None:
        await app[PG_POOL].fetchval("SELECT 1")

    broker_check = _CachedCheck(BROKER_CHECK_TTL)

    async def broker_is_ready() -> None:
        if not await broker_check(lambda: broker_ready(settings.amqp_url)):
            raise ConnectionError("the broker does not accept connections")

    errors = DATABASE_ERRORS
    if service.errors is not None:
        errors = errors | resolve(service.errors)

    async def refresh_parked() -> None:
        counts = await parked_counts(app[PG_POOL])
        for kind in PARK_KINDS:
            PARKED_MESSAGES.labels(service.name, kind).set(counts.get(kind, 0))

    app = create_base_app(
        service.name,
        jwt_secret=settings.jwt_secret,
        routes=[resolve(service.routes)],
        readiness={"database": database_ready, "broker": broker_is_ready},
        errors=errors,
        metrics_refresh=refresh_parked,
    )
    app[SETTINGS] = settings
    if settings.public_url:
        app[PUBLIC_URL] = settings.public_url

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        app[PG_POOL] = await create_pool(
            settings.pg_dsn,
            service.schema,
            max_size=settings.pg_pool_max,
            timeouts=PoolTimeouts.of(settings),
            **dict(service.pool_options),
        )
        yield
        await close_pool(app[PG_POOL])

    async def s3_ctx(app: web.Application) -> AsyncIterator[None]:
        async with _s3(settings, service.bucket_names(settings)) as client:
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
    pool = await create_pool(
        settings.pg_dsn,
        schema,
        max_size=max(settings.pg_pool_max, min_pool),
        timeouts=PoolTimeouts.of(settings, worker=True),  # bulk statements: the worker's longer limits
    )
    try:
        async with _s3(settings, buckets) as client:
            yield pool, client
    finally:
        await asyncio.shield(close_pool(pool))  # a cancelled worker still closes its connections
