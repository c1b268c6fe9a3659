"""The parked-message tools on a message parked by a failing handler: list, show, replay, discard."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aio_pika
import asyncpg
import pytest
from pydantic import BaseModel

from quintet_contracts import Envelope
from quintet_messaging import (
    HEADER_ATTEMPT,
    HEADER_PARK_REASON,
    HEADER_TASK_ID,
    Worker,
    WorkerOptions,
    enqueue_task,
    task_type,
)
from quintet_messaging.parked import (
    discard_parked,
    list_parked,
    parked_counts,
    parser,
    replay_parked,
    run_command,
    show_parked,
)

SCHEMA = "msgtest"
FAST = WorkerOptions(delay_tiers=(timedelta(seconds=0.2),), poll_interval=0.2, reconnect_interval=0.2)
Wait = Callable[..., Awaitable[None]]


class Report(BaseModel):
    n: int


class Handler:
    """A report handler that fails until it is fixed; it records what it built."""

    def __init__(self) -> None:
        self.fixed = False

    async def __call__(self, conn: asyncpg.Connection, task_id: str, payload: Report) -> None:
        if not self.fixed:
            raise ValueError(f"report {task_id} cannot be built yet")
        await conn.execute("INSERT INTO processed (message_id, key) VALUES (gen_random_uuid(), $1)", task_id)


def worker(service: str, pool: asyncpg.Pool, amqp_url: str, handler: Handler) -> Worker:
    built = Worker(service, pool, amqp_url, schema=SCHEMA, max_attempts=1, options=FAST)
    built.on_task("report", Report, handler)
    return built


@pytest.fixture
async def parked(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> AsyncIterator[tuple[Handler, dict[str, int]]]:
    """Two report tasks parked by their failing handler: {task id: parked id}."""
    handler = Handler()
    async with worker(service, pool, amqp_url, handler):
        for task_id in ("r-1", "r-2"):
            async with pool.acquire() as conn:
                await enqueue_task(conn, service, "report", task_id, Report(n=1))

        async def both_parked() -> bool:
            return int(await pool.fetchval("SELECT count(*) FROM parked_messages")) == 2

        await wait_until(both_parked)
    rows = await pool.fetch("SELECT task_id, id FROM parked_messages")
    yield handler, {row["task_id"]: row["id"] for row in rows}


async def test_list_shows_parked_messages_newest_first_with_their_reason(
    pool: asyncpg.Pool, parked: tuple[Handler, dict[str, int]]
) -> None:
    _, ids = parked
    listed = await list_parked(pool, kind="failed")
    assert [m.id for m in listed] == sorted(ids.values(), reverse=True)
    assert {m.task_id: m.reason for m in listed} == {
        task_id: f"failed 1 attempt(s); last error: ValueError: report {task_id} cannot be built yet"
        for task_id in ids
    }
    assert await list_parked(pool, kind="invalid-payload") == []
    assert len(await list_parked(pool, limit=1)) == 1


async def test_show_has_the_body_and_headers(
    pool: asyncpg.Pool, parked: tuple[Handler, dict[str, int]]
) -> None:
    _, ids = parked
    shown = await show_parked(pool, ids["r-1"])
    assert shown is not None and shown.body is not None and shown.headers is not None
    assert b'"n":1' in shown.body
    assert shown.headers[HEADER_PARK_REASON].startswith("failed 1 attempt(s)")
    assert await show_parked(pool, -1) is None


async def test_a_replayed_message_succeeds_once_its_handler_is_fixed(
    pool: asyncpg.Pool, service: str, amqp_url: str, parked: tuple[Handler, dict[str, int]], wait_until: Wait
) -> None:
    handler, ids = parked
    assert await replay_parked(pool, service, [ids["r-1"]], actor="ops@test") == 1
    [replayed] = await pool.fetch("SELECT routing_key, headers FROM outbox")
    assert replayed["routing_key"] == f"{service}.work"
    assert HEADER_ATTEMPT not in replayed["headers"] and HEADER_PARK_REASON not in replayed["headers"]
    handler.fixed = True
    async with worker(service, pool, amqp_url, handler):

        async def built() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM processed WHERE key = 'r-1'"))

        await wait_until(built)
    assert [m.task_id for m in await list_parked(pool)] == ["r-2"]
    actions = await pool.fetch("SELECT action, actor, parked_id, task_id, kind FROM parked_message_actions")
    assert [tuple(r) for r in actions] == [("replay", "ops@test", ids["r-1"], "r-1", "failed")]


async def test_a_discarded_message_is_removed_and_leaves_a_record(
    pool: asyncpg.Pool, parked: tuple[Handler, dict[str, int]]
) -> None:
    _, ids = parked
    assert await discard_parked(pool, [ids["r-2"]], actor="ops@test") == 1
    assert await discard_parked(pool, [ids["r-2"]], actor="ops@test") == 0
    assert [m.task_id for m in await list_parked(pool)] == ["r-1"]
    actions = await pool.fetch("SELECT action, actor, parked_id, task_id, reason FROM parked_message_actions")
    assert [tuple(r)[:4] for r in actions] == [("discard", "ops@test", ids["r-2"], "r-2")]
    assert actions[0]["reason"].startswith("failed 1 attempt(s)")


async def test_counts_per_reason(pool: asyncpg.Pool, parked: tuple[Handler, dict[str, int]]) -> None:
    assert await parked_counts(pool) == {"failed": 2}
    assert await discard_parked(pool, None, actor="ops@test", kind="failed") == 2
    assert await parked_counts(pool) == {}


@pytest.mark.parametrize(
    ("argv", "status", "printed"),
    [
        (["list", "--reason", "failed"], 0, "cannot be built yet"),
        (["show", "-1"], 1, "no parked message -1"),
        (["replay", "--all", "--actor", "cli@test"], 0, "replayed 2 message(s)"),
        (["discard", "-1"], 1, "discarded 0 message(s)"),
    ],
)
async def test_the_command_line(
    pool: asyncpg.Pool, service: str, parked: Any, argv: list[str], status: int, printed: str
) -> None:
    out = io.StringIO()
    assert await run_command(pool, service, parser("parked").parse_args(argv), out) == status
    assert printed in out.getvalue()


async def test_a_message_the_broker_dead_lettered_is_recorded_and_an_old_recorded_copy_dropped(
    pool: asyncpg.Pool, service: str, amqp_url: str, wait_until: Wait
) -> None:
    handler = Handler()
    built = worker(service, pool, amqp_url, handler)
    async with built:  # declares the queues
        pass
    assert built.topology is not None
    envelope = Envelope[Report](type=task_type(service, "report"), producer=service, payload=Report(n=1))
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for headers in (
            {HEADER_TASK_ID: "r-1", "x-first-death-reason": "delivery_limit"},
            {HEADER_TASK_ID: "r-old", HEADER_PARK_REASON: "parked and recorded by an older worker"},
        ):
            message = aio_pika.Message(
                envelope.model_dump_json().encode(),
                message_id=str(uuid.uuid4()),
                type=envelope.type,
                headers=headers,  # type: ignore[arg-type]
            )
            await channel.default_exchange.publish(message, built.topology.parked_queue)

    async with worker(service, pool, amqp_url, handler):

        async def queue_drained() -> bool:
            async with await aio_pika.connect(amqp_url) as check:
                queue = await (await check.channel()).declare_queue(built.topology.parked_queue, passive=True)
                return queue.declaration_result.message_count == 0

        await wait_until(queue_drained)
        await wait_until(lambda: _one_parked(pool))
    [row] = await pool.fetch("SELECT task_id, kind, reason FROM parked_messages")
    assert (row["task_id"], row["kind"]) == ("r-1", "redelivered")
    assert row["reason"].startswith("dead-lettered by the broker (delivery_limit)")


async def _one_parked(pool: asyncpg.Pool) -> bool:
    return int(await pool.fetchval("SELECT count(*) FROM parked_messages")) == 1
