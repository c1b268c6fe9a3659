"""The worker: TTL expiry job, history reports built into S3, the relay publishing the events."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
import pytest

from quintet_contracts import EVENTS_EXCHANGE
from quintet_contracts.segments import MEMBERSHIP_CHANGED, SEGMENT_CREATED
from quintet_db import create_pool
from quintet_s3 import s3_client
from quintet_testing import eventually, expect, expect_error
from segments import SERVICE
from segments.api.models import ReportAccepted
from segments.settings import Settings
from segments.worker import build_worker

from .conftest import READ, WRITE, expire_now, history


async def test_an_expired_membership_is_never_returned_even_before_the_sweep(
    create_segment: Any, update_user: Any, user_segments: Any
) -> None:
    await create_segment("short")
    expires_at = datetime.now(UTC) + timedelta(milliseconds=300)
    assert await update_user(1, [{"slug": "short", "expires_at": expires_at.isoformat()}]) == ["SHORT"]

    async def gone() -> bool:
        return await user_segments(1) == []

    await eventually(gone, timeout=5)
    assert datetime.now(UTC) >= expires_at


async def test_the_ttl_job_ends_an_expired_membership_stamped_at_its_expiry(
    worker: None, create_segment: Any, update_user: Any, db: asyncpg.Pool
) -> None:
    await create_segment("short")
    await create_segment("long")
    expires_at = datetime.now(UTC) + timedelta(milliseconds=300)
    await update_user(
        1, [{"slug": "short", "expires_at": expires_at.isoformat()}, {"slug": "long", "ttl_seconds": 3600}]
    )

    async def swept() -> bool:
        return await db.fetchval("SELECT count(*) FROM memberships WHERE user_id = 1") == 1

    await eventually(swept, timeout=15)
    assert await history(db, 1) == [
        (1, "SHORT", "add", "manual"),
        (1, "LONG", "add", "manual"),
        (1, "SHORT", "delete", "ttl"),
    ]
    stamped = await db.fetchval("SELECT at FROM membership_history WHERE reason = 'ttl'")
    assert abs(stamped - expires_at) < timedelta(milliseconds=1)


async def test_re_adding_an_expired_membership_starts_a_new_one(
    create_segment: Any, update_user: Any, db: asyncpg.Pool
) -> None:
    await create_segment("short")
    await update_user(1, [{"slug": "short", "ttl_seconds": 3600}])
    await expire_now(db, 1, "SHORT")
    assert await update_user(1, ["short"]) == ["SHORT"]
    assert await history(db, 1) == [
        (1, "SHORT", "add", "manual"),
        (1, "SHORT", "delete", "ttl"),
        (1, "SHORT", "add", "manual"),
    ]


async def test_the_relay_publishes_the_events_to_subscribers(
    amqp_url: str, worker: None, create_segment: Any, update_user: Any
) -> None:
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="segments.#")
        await create_segment("a", percent=100)
        await update_user(1, ["a"])
        received: list[tuple[str, Any]] = []

        async def two_received() -> bool:
            message = await queue.get(fail=False)
            if message is not None:
                async with message.process():
                    spec = (
                        SEGMENT_CREATED if message.routing_key == SEGMENT_CREATED.type else MEMBERSHIP_CHANGED
                    )
                    received.append((message.routing_key or "", spec.parse(message.body).payload))
            return len(received) == 2

        await eventually(two_received, timeout=15)  # a missing event fails here, never hangs
    assert received[0][0] == SEGMENT_CREATED.type
    change = received[1][1]
    assert (change.user_id, change.slug, change.operation, change.reason) == (1, "A", "add", "rollout")


async def request_report(client: Any, user_id: int, query: str) -> ReportAccepted:
    response = await client.get(f"/api/v1/segments/user/{user_id}/csv?{query}", headers=READ)
    return await expect(response, 202, ReportAccepted)  # type: ignore[no-any-return]


async def download(client: Any, link: str) -> str:
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]

    async def ready() -> str | None:
        response = await client.get(path, headers=READ)
        if response.status == 202:
            assert (await response.json())["status"] == "pending"
            return None
        assert response.status == 200, await response.text()
        assert response.content_type == "text/csv"
        return str(await response.text())

    return await eventually(ready, timeout=15)


async def test_a_report_lists_every_kind_of_change_of_the_period_in_time_order(
    worker: None, client: Any, create_segment: Any, update_user: Any, register: Any, db: asyncpg.Pool
) -> None:
    await create_segment("everyone", percent=100)
    await create_segment("manual")
    await create_segment("short")
    await create_segment("doomed")
    await register([5])
    await update_user(5, ["manual", "doomed", {"slug": "short", "ttl_seconds": 3600}])
    await update_user(5, [], ["manual"])
    await client.delete("/api/v1/segment/doomed", headers=WRITE)
    await expire_now(db, 5, "SHORT")
    today = datetime.now(UTC).date()
    accepted = await request_report(client, 5, f"from={today}&to={today + timedelta(days=1)}")
    assert accepted.link.startswith("http://") and str(accepted.report_id) in accepted.link
    lines = (await download(client, accepted.link)).splitlines()
    assert lines[0] == "user_id;segment;operation;datetime"
    rows = [line.split(";") for line in lines[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("5", "EVERYONE", "add"),
        ("5", "MANUAL", "add"),
        ("5", "DOOMED", "add"),
        ("5", "SHORT", "add"),
        ("5", "MANUAL", "delete"),
        ("5", "DOOMED", "delete"),
        ("5", "SHORT", "delete"),
    ]
    stamps = [datetime.fromisoformat(r[3]) for r in rows]
    assert stamps == sorted(stamps) and all(
        s.tzinfo is not None and s.utcoffset() == timedelta(0) for s in stamps
    )


async def test_a_report_covers_only_its_period(
    worker: None, client: Any, create_segment: Any, update_user: Any
) -> None:
    await create_segment("a")
    await update_user(5, ["a"])
    accepted = await request_report(client, 5, "period=2023-08")
    assert (await download(client, accepted.link)).splitlines() == ["user_id;segment;operation;datetime"]


async def test_a_report_is_pending_until_the_worker_builds_it(client: Any) -> None:
    accepted = await request_report(client, 5, "period=2023-08")
    response = await client.get(f"/api/v1/reports/{accepted.report_id}", headers=READ)
    assert response.status == 202
    assert (await response.json())["status"] == "pending"


@pytest.mark.parametrize("report_id", [str(uuid.uuid4()), "not-a-uuid"], ids=["unknown", "malformed"])
async def test_an_unknown_report_is_not_found(client: Any, report_id: str) -> None:
    await expect_error(
        await client.get(f"/api/v1/reports/{report_id}", headers=READ), 404, "report_not_found"
    )


async def test_a_failed_report_answers_409_with_the_reason(client: Any, db: asyncpg.Pool) -> None:
    accepted = await request_report(client, 5, "period=2023-08")
    await db.execute(
        "UPDATE reports SET status = 'failed', failure_reason = 'boom' WHERE report_id = $1",
        accepted.report_id,
    )
    error = await expect_error(
        await client.get(f"/api/v1/reports/{accepted.report_id}", headers=READ), 409, "report_failed"
    )
    assert error["details"]["reason"] == "boom"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=2023-13", "period"),
        ("period=23-08", "period"),
        ("", "period"),
        ("from=2023-08-01", "period"),
        ("from=2023-08-02&to=2023-08-01", "to"),
        ("from=yesterday&to=2023-08-01", "from"),
        ("period=2023-08&x=1", "x"),
    ],
)
async def test_an_invalid_period_is_rejected(client: Any, query: str, field: str) -> None:
    error = await expect_error(await client.get(f"/api/v1/segments/user/5/csv?{query}", headers=READ), 400)
    assert error["details"][0]["field"] == field


async def test_a_report_whose_task_is_parked_answers_409_with_the_reason(
    settings: Settings, client: Any
) -> None:
    # A worker whose bucket does not exist fails the upload; with one attempt the task is parked.
    broken = settings.model_copy(
        update={"reports_bucket": f"missing-{uuid.uuid4().hex[:8]}", "max_attempts": 1}
    )
    pool = await create_pool(settings.pg_dsn, SERVICE.schema, min_size=1, max_size=4)
    async with s3_client(
        broken.s3_endpoint, broken.s3_access_key, broken.s3_secret_key, broken.s3_region
    ) as s3:
        task = asyncio.ensure_future(build_worker(broken, pool, s3).run())
        try:
            accepted = await request_report(client, 5, "period=2023-08")

            async def failed() -> bool:
                response = await client.get(f"/api/v1/reports/{accepted.report_id}", headers=READ)
                return bool(response.status == 409)

            await eventually(failed, timeout=15)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    await pool.close()
    error = await expect_error(
        await client.get(f"/api/v1/reports/{accepted.report_id}", headers=READ), 409, "report_failed"
    )
    assert error["details"] == {"reason": "build_failed"}


async def test_the_report_replayed_agrees_with_the_get_answer(
    worker: None,
    client: Any,
    create_segment: Any,
    update_user: Any,
    register: Any,
    user_segments: Any,
    db: asyncpg.Pool,
) -> None:
    await register([5])
    for slug, percent in (("r100", 100), ("r50", 50), ("plain", 0), ("short", 0), ("doomed", 0)):
        await create_segment(slug, percent=percent)
    await update_user(5, ["plain", "doomed", {"slug": "short", "ttl_seconds": 3600}], ["r100"])
    await client.patch("/api/v1/segment/r50", json={"percent": 100}, headers=WRITE)
    await client.delete("/api/v1/segment/doomed", headers=WRITE)
    await expire_now(db, 5, "SHORT")
    today = datetime.now(UTC).date()
    accepted = await request_report(client, 5, f"from={today}&to={today + timedelta(days=1)}")
    active: set[str] = set()
    for line in (await download(client, accepted.link)).splitlines()[1:]:
        _, slug, operation, _ = line.split(";")
        (active.add if operation == "add" else active.discard)(slug)
    assert sorted(active) == await user_segments(5) == ["PLAIN", "R50"]
