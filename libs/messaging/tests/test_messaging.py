"""Outbox → relay → RabbitMQ → Worker, against the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aio_pika
import asyncpg
import pytest
import structlog
from pydantic import BaseModel

from quintet_contracts import Envelope, EventSpec
from quintet_db import stairway
from quintet_messaging import (
    HEADER_ATTEMPT,
    HEADER_PARK_REASON,
    HEADER_TASK,
    HEADER_TASK_ID,
    MIGRATIONS_DIR,
    OutboxRelay,
    Worker,
    WorkerOptions,
    broker_ready,
    enqueue_task,
    enqueue_tasks_many,
    events_insert_sql,
    parked_queue,
    publish_event,
    task_type,
    work_queue,
)
from quintet_messaging.topology import DELIVERY_LIMIT
from quintet_testing import eventually

if TYPE_CHECKING:
    from conftest import TcpProxy

SCHEMA = "msgtest"
FAST_TIERS = (timedelta(seconds=0.2), timedelta(seconds=0.4))
Wait = Callable[..., Awaitable[None]]


class Ping(BaseModel):
    key: str


class CountDown(BaseModel):
    remaining: int


def ping_spec(service: str) -> EventSpec[Ping]:
    return EventSpec(type=f"{service}.pinged", payload_model=Ping, description="test event")


FAST = WorkerOptions(delay_tiers=FAST_TIERS, poll_interval=0.2, reconnect_interval=0.2)


def worker_for(
    service: str, pool: asyncpg.Pool, amqp_url: str, *, max_attempts: int = 5, **options: Any
) -> Worker:
    return Worker(
        service, pool, amqp_url, schema=SCHEMA, max_attempts=max_attempts, options=replace(FAST, **options)
    )


async def record(conn: asyncpg.Connection, message_id: uuid.UUID, key: str) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    await conn.execute(
        "INSERT INTO processed (message_id, key, request_id) VALUES ($1, $2, $3)", message_id, key, request_id
    )


async def record_ping(conn: asyncpg.Connection, envelope: Envelope[Ping]) -> None:
    await record(conn, envelope.message_id, envelope.payload.key)


async def mark_failed(conn: asyncpg.Connection, task_id: str, reason: str) -> None:
    """The on_parked of the tests' tasks: the work is recorded as failed, with the reason."""
    await conn.execute("INSERT INTO failed_work (subject, reason) VALUES ($1, $2)", task_id, reason)


async def count(pool: asyncpg.Pool, sql: str, *args: Any) -> int:
    return int(await pool.fetchval(sql, *args))


async def test_every_event_is_processed_exactly_once_through_broker_connection_loss(
    pool: asyncpg.Pool, service: str, amqp_url: str, proxied_amqp_url: tuple[str, TcpProxy], wait_until: Wait
) -> None:
    spec = ping_spec(service)
    relay_url, proxy = proxied_amqp_url
    # The consumer's connections go through the proxy too: both sides lose the broker.
    worker = worker_for(service, pool, relay_url, run_relay=False)
    worker.on_event(spec, record_ping)
    relay = OutboxRelay(
        pool, relay_url, schema=SCHEMA, batch_size=50, poll_interval=0.2, reconnect_interval=0.2
    )
    relay_task = asyncio.create_task(relay.run())
    try:
        async with worker:
            for batch in range(10):
                async with pool.acquire() as conn, conn.transaction():
                    for n in range(100):
                        await publish_event(conn, spec, Ping(key=f"{batch}-{n}"))
                if batch in (3, 7):
                    # Some of this batch is on its way (or all of it: the cut still hits the consumer).
                    await wait_until(lambda batch=batch: relay.published > 100 * batch)
                    proxy.drop()
                    refused = proxy.refused
                    # Down until the relay and the consumer have each been refused at least once.
                    await wait_until(lambda refused=refused: proxy.refused >= refused + 2)
                    proxy.restore()
            await wait_until(lambda: _all_processed(pool, 1000), within=40)
            # A relay that lost a confirm publishes the row again: the inbox must absorb the copy.
            some_id = await pool.fetchval("SELECT message_id FROM processed LIMIT 1")
            duplicate = spec.envelope(Ping(key="duplicate"), message_id=some_id)
            await pool.execute(
                "INSERT INTO outbox (message_id, message_type, exchange, routing_key, body) VALUES ($1, $2, 'events', $2, $3)",
                some_id,
                spec.type,
                duplicate.model_dump_json().encode(),
            )
            await publish_sentinel(pool, spec)  # after the copy in the same queue: handled after it
            await wait_until(lambda: _sentinel_processed(pool))
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)

    processed = await count(pool, "SELECT count(*) FROM processed WHERE key <> 'sentinel'")
    distinct_keys = await count(pool, "SELECT count(DISTINCT key) FROM processed WHERE key <> 'sentinel'")
    lost = 1000 - distinct_keys
    assert lost == 0
    assert processed == distinct_keys == 1000
    assert relay.published >= 1001
    assert proxy.connections_cut >= 6  # relay, consumer and retry connections, cut twice mid-stream


async def _all_processed(pool: asyncpg.Pool, expected: int) -> bool:
    return await count(pool, "SELECT count(DISTINCT key) FROM processed") >= expected


async def _outbox_empty(pool: asyncpg.Pool) -> bool:
    return await count(pool, "SELECT count(*) FROM outbox") == 0


async def publish_sentinel(pool: asyncpg.Pool, spec: EventSpec[Ping]) -> None:
    """One more event behind everything published so far: one consumer handles a queue in order, so
    once the sentinel is processed, whatever was ahead of it has been handled (or dropped) too."""
    async with pool.acquire() as conn, conn.transaction():
        await publish_event(conn, spec, Ping(key="sentinel"))


async def _sentinel_processed(pool: asyncpg.Pool) -> bool:
    return await count(pool, "SELECT count(*) FROM processed WHERE key = 'sentinel'") > 0


async def test_event_written_in_rolled_back_transaction_is_never_published(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    spec = ping_spec(service)
    worker = worker_for(service, pool, amqp_url)
    worker.on_event(spec, record_ping)
    async with worker:
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn, conn.transaction():
                await publish_event(conn, spec, Ping(key="rolled-back"))
                raise RuntimeError("the state change failed")
        with structlog.contextvars.bound_contextvars(request_id="req-42"):
            async with pool.acquire() as conn, conn.transaction():
                await publish_event(conn, spec, Ping(key="committed"))
        await wait_until(lambda: _all_processed(pool, 1))
        await publish_sentinel(pool, spec)
        await wait_until(lambda: _sentinel_processed(pool))

    rows = await pool.fetch("SELECT key, request_id FROM processed WHERE key <> 'sentinel'")
    assert [(r["key"], r["request_id"]) for r in rows] == [("committed", "req-42")]


async def test_events_built_in_sql_are_consumed_like_any_other_with_their_request_id(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    spec = ping_spec(service)
    keys = ['quoted "key" \\ back', "ключ ё", "plain"]
    request_id = 'req "7" ё'
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            f"""
            WITH source AS (SELECT unnest($1::text[]) AS key),
            events AS ({events_insert_sql(spec, "source", "json_build_object('key', key)", "$2")})
            SELECT 1
            """,
            keys,
            request_id,
        )
    stored = [spec.parse(bytes(r["body"])) for r in await pool.fetch("SELECT body FROM outbox")]
    assert sorted(e.payload.key for e in stored) == sorted(keys)
    assert {(e.type, e.producer, e.request_id) for e in stored} == {(spec.type, spec.producer, request_id)}
    assert len({e.message_id for e in stored}) == len(keys)

    worker = worker_for(service, pool, amqp_url)
    worker.on_event(spec, record_ping)
    async with worker:
        await wait_until(lambda: _all_processed(pool, len(keys)))
    rows = await pool.fetch("SELECT key, request_id FROM processed")
    assert sorted((r["key"], r["request_id"]) for r in rows) == sorted((k, request_id) for k in keys)


async def test_failing_handler_is_retried_with_delays_until_it_succeeds(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    spec = ping_spec(service)
    failures: dict[str, int] = {}

    async def flaky(conn: asyncpg.Connection, envelope: Envelope[Ping]) -> None:
        await record_ping(conn, envelope)  # rolled back with the failure
        if envelope.payload.key == "flaky" and failures.get("flaky", 0) < 2:
            failures["flaky"] = failures.get("flaky", 0) + 1
            raise ConnectionError("upstream unavailable")

    worker = worker_for(service, pool, amqp_url, max_attempts=4)
    worker.on_event(spec, flaky)
    async with worker:
        async with pool.acquire() as conn, conn.transaction():
            await publish_event(conn, spec, Ping(key="flaky"))
            for n in range(20):
                await publish_event(conn, spec, Ping(key=f"ok-{n}"))
        await wait_until(lambda: _all_processed(pool, 21))

    rows = await pool.fetch("SELECT key, at FROM processed ORDER BY at")
    assert failures == {"flaky": 2}
    assert [r["key"] for r in rows].count("flaky") == 1
    assert rows[-1]["key"] == "flaky"  # the others did not wait for it
    first = min(r["at"] for r in rows)
    flaky_at = next(r["at"] for r in rows if r["key"] == "flaky")
    assert flaky_at - first >= timedelta(seconds=0.5)  # waited in both tiers (0.2 s + 0.4 s)
    assert await count(pool, "SELECT count(*) FROM parked_messages") == 0


async def test_task_failing_every_attempt_is_parked_with_its_reason(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    attempts: list[str] = []

    async def broken(conn: asyncpg.Connection, task_id: str, payload: CountDown) -> None:
        attempts.append(task_id)
        raise ValueError(f"cannot build report {task_id}")

    spec = ping_spec(service)
    worker = worker_for(service, pool, amqp_url, max_attempts=3)
    worker.on_task("report", CountDown, broken, on_parked=mark_failed)
    worker.on_event(spec, record_ping)
    async with worker:
        async with pool.acquire() as conn, conn.transaction():
            await enqueue_task(conn, service, "report", "r-1", CountDown(remaining=0))
            for n in range(10):
                await publish_event(conn, spec, Ping(key=f"ok-{n}"))
        await wait_until(lambda: _all_processed(pool, 10))
        await wait_until(lambda: _has_rows(pool, "failed_work"))

    assert attempts == ["r-1"] * 3
    failed = await pool.fetch("SELECT subject, reason FROM failed_work")
    assert [r["subject"] for r in failed] == ["r-1"]
    assert "ValueError: cannot build report r-1" in failed[0]["reason"]
    parked_rows = await pool.fetch("SELECT queue, task_id, type, kind, reason, headers FROM parked_messages")
    assert len(parked_rows) == 1
    assert parked_rows[0]["queue"] == parked_queue(service)
    assert parked_rows[0]["task_id"] == "r-1"
    assert parked_rows[0]["type"] == task_type(service, "report")
    assert parked_rows[0]["kind"] == "failed"
    assert parked_rows[0]["headers"][HEADER_ATTEMPT] == 3
    assert parked_rows[0]["headers"][HEADER_TASK_ID] == "r-1"
    assert "failed 3 attempt(s)" in parked_rows[0]["headers"][HEADER_PARK_REASON]


async def test_a_message_crashing_its_consumers_is_parked_before_the_broker_drops_it(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    """Consumers that die while handling a message return it unsettled; the quorum queue counts the
    returns (x-delivery-count) and past its limit dead-letters it without a record. The worker parks
    it itself one return before that: parked_messages row, parked queue, on_parked."""
    handled: list[str] = []

    async def handle(conn: asyncpg.Connection, task_id: str, payload: CountDown) -> None:
        handled.append(task_id)

    worker = worker_for(service, pool, amqp_url)
    worker.on_task("report", CountDown, handle, on_parked=mark_failed)
    async with worker:  # declares the topology
        pass
    assert worker.topology is not None
    envelope = Envelope[CountDown](
        type=task_type(service, "report"), producer=service, payload=CountDown(remaining=0)
    )
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(
                envelope.model_dump_json().encode(),
                message_id=str(envelope.message_id),
                type=envelope.type,
                headers={HEADER_TASK_ID: "r-1"},
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            worker.topology.work_queue,
        )
        queue = await channel.get_queue(worker.topology.work_queue, ensure=False)
        returns = 0
        while returns < DELIVERY_LIMIT - 1:  # a crashing consumer, DELIVERY_LIMIT - 1 times over
            message = await eventually(lambda: queue.get(fail=False), timeout=10)
            await message.nack(requeue=True)
            returns += 1

    async with worker:
        await wait_until(lambda: _has_rows(pool, "failed_work"))

    assert handled == []
    [failed] = await pool.fetch("SELECT subject, reason FROM failed_work")
    assert failed["subject"] == "r-1"
    assert f"returned to the queue unsettled {DELIVERY_LIMIT - 1} times" in failed["reason"]
    [kind] = await pool.fetch("SELECT kind FROM parked_messages WHERE task_id = 'r-1'")
    assert kind["kind"] == "redelivered"


async def _has_rows(pool: asyncpg.Pool, table: str) -> bool:
    return await count(pool, f"SELECT count(*) FROM {table}") > 0


async def test_invalid_payload_is_parked_at_once_without_retries(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    calls: list[str] = []

    async def handler(conn: asyncpg.Connection, task_id: str, payload: CountDown) -> None:
        calls.append(task_id)

    worker = worker_for(service, pool, amqp_url)
    worker.on_task("count-down", CountDown, handler, on_parked=mark_failed)
    body = json.dumps(
        {"type": task_type(service, "count-down"), "producer": service, "payload": {"remaining": "x"}}
    )
    headers = json.dumps({HEADER_TASK: "count-down", HEADER_TASK_ID: "bad-1"})
    async with worker:
        await pool.execute(
            "INSERT INTO outbox (message_id, message_type, exchange, routing_key, body, headers)"
            " VALUES ($1, $2, '', $3, $4, $5::text::jsonb)",
            uuid.uuid4(),
            task_type(service, "count-down"),
            f"{service}.work",
            body.encode(),
            headers,
        )
        await wait_until(lambda: _has_rows(pool, "failed_work"))

    assert calls == []
    [row] = await pool.fetch("SELECT task_id, kind, reason, headers FROM parked_messages")
    assert (row["task_id"], row["kind"]) == ("bad-1", "invalid-payload")
    assert row["reason"].startswith("invalid payload")
    assert HEADER_ATTEMPT not in row["headers"]
    assert row["headers"][HEADER_PARK_REASON].startswith("invalid payload")


async def test_task_reschedules_itself_with_the_same_task_id(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    async def count_down(conn: asyncpg.Connection, task_id: str, payload: CountDown) -> None:
        await record(conn, uuid.uuid4(), f"{task_id}:{payload.remaining}")
        if payload.remaining > 0:
            await enqueue_task(
                conn,
                service,
                "count-down",
                task_id,
                CountDown(remaining=payload.remaining - 1),
                delay=timedelta(seconds=0.1),
            )

    worker = worker_for(service, pool, amqp_url)
    worker.on_task("count-down", CountDown, count_down)
    async with pool.acquire() as conn, conn.transaction():
        await enqueue_task(conn, service, "count-down", "job-1", CountDown(remaining=9))
        # Same task id while one is pending in the outbox: replaces the pending one.
        await enqueue_task(conn, service, "count-down", "job-1", CountDown(remaining=3))
        await enqueue_tasks_many(
            conn,
            service,
            "count-down",
            [("job-2", CountDown(remaining=1)), ("job-3", CountDown(remaining=0))],
        )
    assert await count(pool, "SELECT count(*) FROM outbox") == 3
    async with worker:
        await wait_until(lambda: _all_processed(pool, 7))
        # Nothing is left to arrive: each chain's last step enqueued nothing, the outbox is empty.
        await wait_until(lambda: _outbox_empty(pool))

    keys = sorted(r["key"] for r in await pool.fetch("SELECT key FROM processed"))
    assert keys == ["job-1:0", "job-1:1", "job-1:2", "job-1:3", "job-2:0", "job-2:1", "job-3:0"]


async def test_periodic_job_runs_once_per_period_across_workers(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    period = timedelta(seconds=0.3)
    workers = [worker_for(service, pool, amqp_url, run_relay=False) for _ in range(2)]
    for worker in workers:
        owner = worker.owner

        async def job(pool: asyncpg.Pool, owner: str = owner) -> None:
            await pool.execute("INSERT INTO job_runs (owner) VALUES ($1)", owner)

        worker.every("tick", period, job)

    async def six_periods() -> bool:
        return (
            await count(pool, "SELECT count(DISTINCT floor(extract(epoch FROM at) / 0.3)) FROM job_runs") >= 6
        )

    async with workers[0], workers[1]:
        await wait_until(six_periods)

    per_period = await pool.fetch(
        "SELECT floor(extract(epoch FROM at) / 0.3) AS slot, count(*) AS runs FROM job_runs GROUP BY 1 ORDER BY 1"
    )
    assert len(per_period) >= 5
    assert all(r["runs"] == 1 for r in per_period)
    # Consecutive periods, none skipped.
    slots = [int(r["slot"]) for r in per_period]
    assert slots == list(range(slots[0], slots[0] + len(slots)))


async def test_unroutable_message_stays_in_the_outbox_for_a_later_retry(
    pool: asyncpg.Pool, service: str, amqp_url: str
) -> None:
    async with pool.acquire() as conn:
        # No worker of this service ever declared its work queue: the broker returns the message.
        await enqueue_task(conn, service, "report", "r-1", CountDown(remaining=0))
    relay = OutboxRelay(pool, amqp_url, schema=SCHEMA)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        assert await relay.relay_batch(channel) == (1, 0)

    row = await pool.fetchrow(
        "SELECT publish_attempts, last_error, available_at > now() AS later FROM outbox"
    )
    assert row is not None
    assert (row["publish_attempts"], row["later"]) == (1, True)
    assert "unroutable" in row["last_error"]
    assert relay.published == 0


async def test_a_message_unroutable_on_every_attempt_is_parked_with_its_reason(
    pool: asyncpg.Pool, service: str, amqp_url: str
) -> None:
    async with pool.acquire() as conn:
        await enqueue_task(conn, service, "report", "r-1", CountDown(remaining=0))
    relay = OutboxRelay(pool, amqp_url, schema=SCHEMA, max_publish_attempts=2)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        assert await relay.relay_batch(channel) == (1, 0)  # attempt 1: postponed
        assert await relay.relay_batch(channel) == (0, 0)  # not due yet
        await pool.execute("UPDATE outbox SET available_at = now()")
        assert await relay.relay_batch(channel) == (1, 0)  # attempt 2: the last one

    assert await count(pool, "SELECT count(*) FROM outbox") == 0
    parked = await pool.fetchrow("SELECT queue, type, reason FROM parked_messages")
    assert parked is not None
    assert parked["queue"] == "outbox"
    assert parked["type"] == f"{service}.task.report"
    assert "unroutable" in parked["reason"] and "after 2 publish attempts" in parked["reason"]
    assert relay.published == 0


async def test_a_row_no_amqp_frame_can_carry_is_parked_and_the_rest_flows(
    pool: asyncpg.Pool, service: str, amqp_url: str
) -> None:
    """A request id over 255 bytes cannot be an AMQP correlation id: the row would fail its batch
    forever and hold back every later row."""
    spec = ping_spec(service)
    worker = worker_for(service, pool, amqp_url, run_relay=False)
    worker.on_event(spec, record_ping)
    async with worker:  # declares and binds the queue, so good events are routable
        pass
    async with pool.acquire() as conn, conn.transaction():
        await publish_event(conn, spec, Ping(key="poison"), request_id="r" * 300)
        await publish_event(conn, spec, Ping(key="good"))
    relay = OutboxRelay(pool, amqp_url, schema=SCHEMA)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        assert await relay.relay_batch(channel) == (2, 0)  # the poison row is parked
        assert await relay.relay_batch(channel) == (1, 0)  # the good one goes out
    assert relay.published == 1
    assert await count(pool, "SELECT count(*) FROM outbox") == 0
    parked = await pool.fetchrow("SELECT queue, reason FROM parked_messages")
    assert parked is not None and parked["queue"] == "outbox"
    assert parked["reason"].startswith("cannot be published: ")


async def test_a_relay_does_not_spin_on_a_due_row_another_transaction_holds(
    pool: asyncpg.Pool, service: str, amqp_url: str
) -> None:
    async with pool.acquire() as conn:
        await publish_event(conn, ping_spec(service), Ping(key="held"))
    relay = OutboxRelay(pool, amqp_url, schema=SCHEMA, poll_interval=0.5)
    calls = 0
    relay_batch = relay.relay_batch

    async def counted(channel: Any) -> tuple[int, int]:
        nonlocal calls
        calls += 1
        return await relay_batch(channel)

    relay.relay_batch = counted  # type: ignore[method-assign]
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT id FROM outbox FOR UPDATE")  # another relay's batch, say
        started = time.monotonic()
        task = asyncio.ensure_future(relay.run())
        await eventually(lambda: calls >= 3, timeout=10)
        elapsed = time.monotonic() - started
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # A relay that spun would make its three claims in milliseconds; one that waits a poll
    # interval after finding nothing it can claim needs two intervals.
    assert elapsed >= 0.9, f"{calls} claims in {elapsed:.2f} s with a 0.5 s poll interval"


async def test_inbox_rows_older_than_the_retention_are_pruned(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    old, recent = uuid.uuid4(), uuid.uuid4()
    await pool.execute(
        "INSERT INTO inbox (consumer, message_id, processed_at) VALUES ($1, $2, now() - interval '1 hour'),"
        " ($1, $3, now() + interval '1 hour')",
        f"{service}.work",
        old,
        recent,
    )
    worker = worker_for(service, pool, amqp_url, inbox_retention=timedelta(seconds=0.5))
    async with worker:

        async def pruned() -> bool:
            return await count(pool, "SELECT count(*) FROM inbox WHERE message_id = $1", old) == 0

        await wait_until(pruned)
    assert await count(pool, "SELECT count(*) FROM inbox WHERE message_id = $1", recent) == 1


async def test_broker_ready_reports_reachability(amqp_url: str) -> None:
    assert await broker_ready(amqp_url)
    assert not await broker_ready("amqp://guest:guest@127.0.0.1:1/", within=1.0)


async def test_migrations_walk_up_down_up(database_factory) -> None:  # type: ignore[no-untyped-def]
    dsn = await database_factory.create()
    assert await asyncio.to_thread(stairway, dsn, "stairway", [MIGRATIONS_DIR]) == 2


# -- a database outage pauses consumption ---------------------------------------------------

TASKS = 300


async def test_tasks_survive_a_database_outage_longer_than_every_retry_tier_each_handled_once(
    proxied_database: tuple[asyncpg.Pool, asyncpg.Pool, TcpProxy],
    service: str,
    amqp_url: str,
    wait_until: Wait,
) -> None:
    direct, proxied, proxy = proxied_database

    async def slow(conn: asyncpg.Connection, task_id: str, payload: CountDown) -> None:
        await conn.execute("SELECT pg_sleep(0.005)")
        await record(conn, uuid.uuid4(), task_id)

    # Retry tiers 0.2 s and 0.4 s, 3 attempts: an outage of 3 s outlasts all of them several times.
    worker = worker_for(service, proxied, amqp_url, max_attempts=3, batch_size=8)
    worker.on_task("slice", CountDown, slow, on_parked=mark_failed)
    async with direct.acquire() as conn:
        await enqueue_tasks_many(
            conn, service, "slice", [(f"t-{n}", CountDown(remaining=n)) for n in range(TASKS)]
        )

    async def started() -> bool:
        return await count(direct, "SELECT count(*) FROM processed") >= 30

    async with worker:
        await wait_until(started)
        proxy.drop()  # mid-work: transactions in flight lose their connection
        # The outage lasts until the paused worker has found the database still down on 8 probes,
        # 0.2 s apart: longer than every retry tier (0.2 s, 0.4 s) of all 3 attempts together.
        await wait_until(lambda: worker.gate.failed_probes >= 8)
        proxy.restore()

        async def all_handled() -> bool:
            return await count(direct, "SELECT count(DISTINCT key) FROM processed") >= TASKS

        await wait_until(all_handled, within=60)

    assert await count(direct, "SELECT count(*) FROM processed") == TASKS  # each exactly once
    assert await count(direct, "SELECT count(*) FROM parked_messages") == 0
    assert await count(direct, "SELECT count(*) FROM failed_work") == 0
    assert worker.parking.retries == 0  # no attempt spent on the outage
    assert worker.gate.pauses >= 1


async def _ready_in_queue(amqp_url: str, queue: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


async def test_a_message_whose_parked_record_cannot_be_written_is_not_acked(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    calls: list[str] = []

    async def broken(conn: asyncpg.Connection, task_id: str, payload: Any) -> None:
        calls.append(task_id)
        raise ValueError("cannot build it")

    def failing_worker() -> Any:
        worker = worker_for(service, pool, amqp_url, max_attempts=1)
        worker.on_task("report", CountDown, broken, on_parked=mark_failed)
        return worker

    await pool.execute("ALTER TABLE parked_messages RENAME TO parked_messages_away")
    worker = failing_worker()
    async with worker:
        async with pool.acquire() as conn:
            await enqueue_tasks_many(conn, service, "report", [("r-1", CountDown(remaining=0))])

        async def park_failed() -> bool:
            return worker.gate.pauses >= 1

        await wait_until(park_failed, within=60)

    async def back_in_its_queue() -> bool:  # unacked: returned when the worker's connection closed
        return await _ready_in_queue(amqp_url, work_queue(service)) == 1

    await wait_until(back_in_its_queue, within=60)
    await pool.execute("ALTER TABLE parked_messages_away RENAME TO parked_messages")
    async with failing_worker():

        async def parked() -> bool:
            return await count(pool, "SELECT count(*) FROM parked_messages") == 1

        await wait_until(parked, within=60)
    assert await count(pool, "SELECT count(*) FROM failed_work WHERE subject = 'r-1'") == 1
    assert set(calls) == {"r-1"}


# -- relay: events nobody subscribes to, publisher confirms that never come --------------------


async def test_an_event_nobody_subscribes_to_is_sent_without_a_warning_retry_or_park(
    pool: asyncpg.Pool, service: str, amqp_url: str
) -> None:
    async with pool.acquire() as conn:
        await publish_event(conn, ping_spec(service), Ping(key="lonely"))
    relay = OutboxRelay(pool, amqp_url, schema=SCHEMA)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_exchange("events", aio_pika.ExchangeType.TOPIC, durable=True)
        with structlog.testing.capture_logs() as logs:
            assert await relay.relay_batch(channel) == (1, 0)

    assert [entry for entry in logs if entry["log_level"] in ("warning", "error")] == []
    assert await count(pool, "SELECT count(*) FROM outbox") == 0
    assert await count(pool, "SELECT count(*) FROM parked_messages") == 0
    assert (relay.published, relay.unroutable_events) == (0, 1)


async def test_a_batch_without_publisher_confirms_releases_its_rows_after_the_confirm_timeout(
    pool: asyncpg.Pool, service: str, proxied_amqp_url: tuple[str, TcpProxy]
) -> None:
    url, proxy = proxied_amqp_url
    async with pool.acquire() as conn:
        await publish_event(conn, ping_spec(service), Ping(key="held"))
    relay = OutboxRelay(pool, url, schema=SCHEMA, confirm_timeout=0.5)
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        proxy.freeze()  # half-open: the connection looks alive, no confirm ever comes back
        batch = asyncio.ensure_future(relay.relay_batch(channel))
        done, _ = await asyncio.wait({batch}, timeout=10)
        assert done == {batch}, "the batch still waits for its confirms"
        assert batch.result() == (1, 1)
        async with pool.acquire() as conn, conn.transaction():  # the row is free for the next try
            assert len(await conn.fetch("SELECT id FROM outbox FOR UPDATE NOWAIT")) == 1
    finally:
        proxy.thaw()
        await connection.close()
    assert relay.published == 0
