"""The fixtures every service's tests share, made from its `ServiceDeclaration` in one line.

    # services/<name>/tests/conftest.py
    globals().update(service_fixtures(SERVICE, max_attempts=2))

gives `pg_dsn` (a fresh migrated database per test), `settings` (the service's Settings on this
session's PostgreSQL, RabbitMQ and S3, with the static overrides and the `settings_overrides`
fixture on top), `db` (a small pool on the test database), `client` (the api over real HTTP) and
`worker` (the real worker running in the test's event loop; yields the Worker).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from quintet_testing.http import api_client

if TYPE_CHECKING:
    from quintet_contracts import EventSpec
    from quintet_service import ServiceDeclaration


WORKER_START_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 30.0


def service_fixtures(service: ServiceDeclaration, **static_overrides: Any) -> dict[str, Any]:
    """pytest fixtures for `service`, to put into a conftest's globals."""

    @pytest.fixture
    async def pg_dsn(database_factory: Any) -> AsyncIterator[str]:
        dsn = str(await database_factory.migrated(service.schema, service.migration_sources))
        yield dsn
        await database_factory.drop(dsn)

    @pytest.fixture
    def settings(pg_dsn: str, platform_settings: dict[str, str], settings_overrides: dict[str, Any]) -> Any:
        return service.load_settings(
            pg_dsn=pg_dsn, **{**platform_settings, **static_overrides, **settings_overrides}
        )

    @pytest.fixture
    async def db(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
        from quintet_db import create_pool

        pool = await create_pool(pg_dsn, service.schema, min_size=1, max_size=4)
        yield pool
        await pool.close()

    @pytest.fixture
    async def client(settings: Any) -> AsyncIterator[Any]:
        async with api_client(service.create_app(settings)) as http:
            yield http

    @pytest.fixture
    async def worker(settings: Any) -> AsyncIterator[Any]:
        from quintet_service import worker_resources

        async with worker_resources(
            settings,
            service.schema,
            min_pool=service.worker_min_pool,
            buckets=service.bucket_names(settings),
        ) as (pool, s3):
            running = service.build_worker(settings, pool, s3)
            task = asyncio.ensure_future(running.run())
            # The test starts once the worker consumes: its waits then time the work, not the start.
            started = asyncio.ensure_future(running.started.wait())
            done, _ = await asyncio.wait(
                [task, started], timeout=WORKER_START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                task.result()  # it crashed while starting: the error is the test's failure
            started.cancel()
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise AssertionError(
                    f"the {service.name} worker did not start within {WORKER_START_TIMEOUT}s"
                )
            yield running
            task.cancel()
            # Bounded: a worker that does not stop is a failure to see, not a hung session.
            done, _ = await asyncio.wait([task], timeout=WORKER_STOP_TIMEOUT)
            assert done, f"the {service.name} worker did not stop within {WORKER_STOP_TIMEOUT}s of cancel"
            if not task.cancelled():
                task.exception()  # retrieved: a worker that crashed already failed its test

    return {"pg_dsn": pg_dsn, "settings": settings, "db": db, "client": client, "worker": worker}


def stairway_test(service: ServiceDeclaration, *, migrations: int) -> Callable[..., Any]:
    """A test that applies, rolls back and re-applies every migration of `service`, one by one."""

    async def test_every_migration_applies_rolls_back_and_applies_again(database_factory: Any) -> None:
        from quintet_db import stairway

        dsn = await database_factory.create()
        applied = await asyncio.to_thread(stairway, dsn, service.schema, service.migration_sources)
        assert applied == migrations

    return test_every_migration_applies_rolls_back_and_applies_again


async def outbox_events(db: asyncpg.Pool | asyncpg.Connection, spec: EventSpec[Any]) -> list[Any]:
    """Payloads of `spec`'s events still in the outbox, oldest first, each parsed with its contract."""
    rows = await db.fetch("SELECT body FROM outbox WHERE message_type = $1 ORDER BY id", spec.type)
    return [spec.parse(bytes(row["body"])).payload for row in rows]


@asynccontextmanager
async def published_events(amqp_url: str, spec: EventSpec[Any]) -> AsyncIterator[list[Any]]:
    """Collects `spec`'s events as the broker routes them, each parsed with its contract.

    For tests with a running worker: its relay publishes and deletes outbox rows, so the outbox no
    longer shows them. Bind before the events are published (enter this first).
    """
    import aio_pika

    from quintet_contracts import EVENTS_EXCHANGE

    received: list[Any] = []
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=spec.type)

        async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                received.append(spec.parse(message.body).payload)

        await queue.consume(collect)
        yield received
    finally:
        await connection.close()
