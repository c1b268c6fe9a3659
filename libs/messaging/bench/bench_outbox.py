"""End-to-end outbox throughput: outbox → relay → RabbitMQ → Worker consumer with inbox.

Baseline, measured in the same run: a plain publish-with-confirm loop (one await per publish) of the
same number of persistent messages into a quorum queue. Creates its own database and uniquely named
queues, and removes them afterwards.

    uv run python libs/messaging/bench/bench_outbox.py
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import structlog
from pydantic import BaseModel

from quintet_contracts import Envelope, EventSpec
from quintet_db import create_pool, migrate
from quintet_messaging import MIGRATIONS_DIR, Worker, publish_events_many

PG_DSN = os.environ.get("QUINTET_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("QUINTET_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
WRITE_BATCH = 500
SCHEMA = "bench"


class Tick(BaseModel):
    n: int


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


async def baseline(amqp_url: str, queue_name: str, count: int) -> float:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        body = (
            Envelope[Tick](type="bench.tick", producer="bench", payload=Tick(n=0)).model_dump_json().encode()
        )
        started = time.perf_counter()
        for _ in range(count):
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body, message_id=str(uuid.uuid4()), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                queue_name,
                mandatory=True,
            )
        elapsed = time.perf_counter() - started
        await queue.delete(if_unused=False, if_empty=False)
        return count / elapsed
    finally:
        await connection.close()


async def outbox_end_to_end(pool: asyncpg.Pool, amqp_url: str, service: str, count: int) -> float:
    spec = EventSpec(type=f"{service}.ticked", payload_model=Tick, description="benchmark event")
    consumed = 0
    all_consumed = asyncio.Event()

    async def handle(conn: asyncpg.Connection, envelope: Envelope[Tick]) -> None:
        nonlocal consumed
        consumed += 1
        if consumed >= count:
            all_consumed.set()

    worker = Worker(service, pool, amqp_url, schema=SCHEMA, prefetch=1000, concurrency=4, batch_size=250)
    worker.on_event(spec, handle)
    async with worker:
        started = time.perf_counter()
        for first in range(0, count, WRITE_BATCH):
            async with pool.acquire() as conn, conn.transaction():
                await publish_events_many(
                    conn, spec, [Tick(n=n) for n in range(first, min(first + WRITE_BATCH, count))]
                )
        await asyncio.wait_for(all_consumed.wait(), timeout=300)
        elapsed = time.perf_counter() - started
        assert worker.topology is not None
        topology = worker.topology
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in (topology.work_queue, topology.parked_queue, *topology.wait_queues):
            await channel.queue_delete(name)
    return count / elapsed


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    database = f"qbench_{uuid.uuid4().hex[:10]}"
    service = f"bench{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_DSN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        dsn = with_database(PG_DSN, database)
        await asyncio.to_thread(migrate, dsn, SCHEMA, [MIGRATIONS_DIR])
        pool = await create_pool(dsn, SCHEMA, max_size=10)
        try:
            base = await baseline(AMQP_URL, f"{service}.baseline", EVENTS)
            ours = await outbox_end_to_end(pool, AMQP_URL, service, EVENTS)
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    print(f"BENCH outbox {ours:.0f} events/s baseline={base:.0f} events/s ratio={ours / base:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
