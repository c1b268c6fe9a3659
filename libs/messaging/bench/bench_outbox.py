"""End-to-end outbox throughput: outbox → relay → RabbitMQ → Worker consumer with inbox.

As in the deployed system, the producing side (the outbox writes and the relay, in the producer's
worker) and the consuming side (a Worker with its inbox, in the consumer's worker) run in two
processes. The clock starts before the first outbox write and stops when the consumer has handled
the last event (wall clock, one machine). `BENCH outbox-1proc` runs both sides in one process and
event loop, the worst case (the relay and the consumer then share one core).

Baseline, measured in the same run: a plain publish-with-confirm loop (one await per publish) of the
same number of persistent messages into a quorum queue. Creates its own database and uniquely named
queues, and removes them afterwards.

    uv run python libs/messaging/bench/bench_outbox.py
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
import uuid
from typing import Any

import aio_pika
import asyncpg
import structlog
from pydantic import BaseModel

from quintet_contracts import Envelope, EventSpec
from quintet_db import create_pool
from quintet_messaging import MIGRATIONS_DIR, OutboxRelay, Worker, WorkerOptions, publish_events_many
from quintet_testing.infra import DatabaseFactory

PG_DSN = os.environ.get("QUINTET_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("QUINTET_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
WRITE_BATCH = 500
SCHEMA = "bench"


class Tick(BaseModel):
    n: int


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


def tick_spec(service: str) -> EventSpec[Tick]:
    return EventSpec(type=f"{service}.ticked", payload_model=Tick, description="benchmark event")


def consumer_worker(pool: asyncpg.Pool, amqp_url: str, service: str, count: int, *, relay: bool) -> Any:
    """The consuming Worker and an event set when it has handled `count` events."""
    consumed = 0
    all_consumed = asyncio.Event()

    async def handle(conn: asyncpg.Connection, envelope: Envelope[Tick]) -> None:
        nonlocal consumed
        consumed += 1
        if consumed >= count:
            all_consumed.set()

    options = WorkerOptions(prefetch=1000, concurrency=4, batch_size=250, run_relay=relay)
    worker = Worker(service, pool, amqp_url, schema=SCHEMA, options=options)
    worker.on_event(tick_spec(service), handle)
    return worker, all_consumed


async def write_outbox(pool: asyncpg.Pool, service: str, count: int) -> None:
    for first in range(0, count, WRITE_BATCH):
        async with pool.acquire() as conn, conn.transaction():
            await publish_events_many(
                conn, tick_spec(service), [Tick(n=n) for n in range(first, min(first + WRITE_BATCH, count))]
            )


async def delete_queues(amqp_url: str, topology: Any) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in (topology.work_queue, topology.parked_queue, *topology.wait_queues):
            await channel.queue_delete(name)


async def one_process(pool: asyncpg.Pool, amqp_url: str, service: str, count: int) -> float:
    worker, all_consumed = consumer_worker(pool, amqp_url, service, count, relay=True)
    async with worker:
        started = time.perf_counter()
        await write_outbox(pool, service, count)
        await asyncio.wait_for(all_consumed.wait(), timeout=300)
        elapsed = time.perf_counter() - started
    await delete_queues(amqp_url, worker.topology)
    return count / elapsed


async def _consumer_process_main(dsn: str, amqp_url: str, service: str, count: int, pipe: Any) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    pool = await create_pool(dsn, SCHEMA, max_size=6)
    try:
        worker, all_consumed = consumer_worker(pool, amqp_url, service, count, relay=False)
        async with worker:
            pipe.send("ready")
            await asyncio.wait_for(all_consumed.wait(), timeout=300)
            pipe.send(time.time())
        await delete_queues(amqp_url, worker.topology)
    finally:
        await pool.close()


def consumer_process(dsn: str, amqp_url: str, service: str, count: int, pipe: Any) -> None:
    asyncio.run(_consumer_process_main(dsn, amqp_url, service, count, pipe))


async def two_processes(pool: asyncpg.Pool, dsn: str, amqp_url: str, service: str, count: int) -> float:
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    process = context.Process(target=consumer_process, args=(dsn, amqp_url, service, count, child_end))
    process.start()
    relay = OutboxRelay(pool, amqp_url, schema=SCHEMA, batch_size=500)
    relay_task: asyncio.Task[None] | None = None
    try:
        ready = await asyncio.to_thread(parent_end.recv)  # queues declared and bound
        assert ready == "ready", ready
        relay_task = asyncio.create_task(relay.run())
        started = time.time()
        await write_outbox(pool, service, count)
        if not await asyncio.to_thread(parent_end.poll, 300):
            raise TimeoutError("the consumer did not handle every event within 300 s")
        finished = float(parent_end.recv())
    finally:
        if relay_task is not None:
            relay_task.cancel()
            await asyncio.gather(relay_task, return_exceptions=True)
        await asyncio.to_thread(process.join, 60)
    return count / (finished - started)


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    service = f"bench{uuid.uuid4().hex[:8]}"
    databases = DatabaseFactory(PG_DSN)
    try:
        dsn = await databases.migrated(SCHEMA, [MIGRATIONS_DIR])
        pool = await create_pool(dsn, SCHEMA, max_size=10)
        try:
            base = await baseline(AMQP_URL, f"{service}.baseline", EVENTS)
            ours = await two_processes(pool, dsn, AMQP_URL, service, EVENTS)
            async with pool.acquire() as conn:
                await conn.execute("TRUNCATE inbox")
            single = await one_process(pool, AMQP_URL, f"{service}s", EVENTS)
        finally:
            await pool.close()
    finally:
        await databases.drop_all()
    print(f"BENCH outbox {ours:.0f} events/s baseline={base:.0f} events/s ratio={ours / base:.2f}")
    print(f"BENCH outbox-1proc {single:.0f} events/s baseline={base:.0f} events/s ratio={single / base:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
