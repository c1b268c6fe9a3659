"""Sticky percentage rollout over every known user."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from quintet_contracts.segments import MEMBERSHIP_CHANGED
from quintet_testing import eventually, expect, expect_error, outbox_events
from segments.api.models import Registration
from segments.usecases import memberships

from .conftest import WRITE, expire_now, history

USERS = list(range(1, 2001))


async def members(db: asyncpg.Pool, slug: str) -> set[int]:
    rows = await db.fetch(
        "SELECT m.user_id FROM memberships m JOIN segments s ON s.id = m.segment_id WHERE s.slug = $1", slug
    )
    return {r["user_id"] for r in rows}


@pytest.mark.parametrize("percent", [0, 10, 50, 100])
async def test_a_rollout_covers_about_its_percent_of_the_registered_users(
    register: Any, create_segment: Any, db: asyncpg.Pool, percent: int
) -> None:
    await register(USERS)
    await create_segment("exp", percent=percent)
    share = len(await members(db, "EXP")) / len(USERS)
    assert abs(share - percent / 100) < 0.04


async def test_users_registered_after_the_segment_are_covered_by_the_same_rule(
    register: Any, create_segment: Any, db: asyncpg.Pool, client: Any
) -> None:
    await register(USERS[:1000])
    await create_segment("before", percent=30)
    await register(USERS)
    late = await members(db, "BEFORE")
    # The same users as a segment created over the whole population with the same salt.
    salt = await db.fetchval("SELECT salt FROM segments WHERE slug = 'BEFORE'")
    expected = await db.fetch("SELECT user_id FROM users WHERE rollout_bucket($1, user_id) < 3000", salt)
    assert late == {r["user_id"] for r in expected}


async def test_registration_is_idempotent(register: Any, create_segment: Any, client: Any) -> None:
    await create_segment("r", percent=50)
    first = Registration.model_validate(await register(USERS[:100]))
    again = Registration.model_validate(await register(USERS[:100]))
    assert first.registered == 100 and first.rollout_memberships > 0
    assert again == Registration(registered=0, rollout_memberships=0)


async def test_a_user_created_by_an_update_joins_the_rollouts(
    create_segment: Any, update_user: Any, user_segments: Any, db: asyncpg.Pool
) -> None:
    await create_segment("everyone", percent=100)
    await create_segment("manual")
    assert await update_user(5, ["manual"]) == ["EVERYONE", "MANUAL"]
    assert await history(db, 5) == [(5, "EVERYONE", "add", "rollout"), (5, "MANUAL", "add", "manual")]


async def test_an_unregistered_user_is_not_in_any_rollout(create_segment: Any, user_segments: Any) -> None:
    await create_segment("everyone", percent=100)
    assert await user_segments(123) == []


async def test_growing_keeps_every_member_and_shrinking_keeps_a_subset(
    register: Any, create_segment: Any, client: Any, db: asyncpg.Pool
) -> None:
    await register(USERS)
    await create_segment("sticky", percent=20)
    at_20 = await members(db, "STICKY")
    await expect(await client.patch("/api/v1/segment/sticky", json={"percent": 60}, headers=WRITE), 200)
    at_60 = await members(db, "STICKY")
    await expect(await client.patch("/api/v1/segment/sticky", json={"percent": 10}, headers=WRITE), 200)
    at_10 = await members(db, "STICKY")
    await expect(await client.patch("/api/v1/segment/sticky", json={"percent": 20}, headers=WRITE), 200)
    assert at_10 < at_20 < at_60
    assert await members(db, "STICKY") == at_20
    removed = await db.fetchval(
        "SELECT count(*) FROM membership_history WHERE operation = 'delete' AND reason = 'rollout'"
    )
    assert removed == len(at_60) - len(at_10)


async def test_two_segments_of_the_same_percent_pick_different_users(
    register: Any, create_segment: Any, db: asyncpg.Pool
) -> None:
    await register(USERS)
    await create_segment("one", percent=10)
    await create_segment("two", percent=10)
    one, two = await members(db, "ONE"), await members(db, "TWO")
    assert len(one & two) < len(one) / 2


async def test_shrinking_keeps_explicit_members(
    register: Any, create_segment: Any, update_user: Any, client: Any, db: asyncpg.Pool
) -> None:
    await register(USERS)
    await create_segment("exp", percent=100)
    await update_user(1, ["exp"])
    await expect(await client.patch("/api/v1/segment/exp", json={"percent": 0}, headers=WRITE), 200)
    assert await members(db, "EXP") == {1}


async def test_an_explicit_delete_opts_the_user_out_until_added_again(
    register: Any, create_segment: Any, update_user: Any, user_segments: Any, client: Any
) -> None:
    await register([1])
    await create_segment("exp", percent=100)
    assert await user_segments(1) == ["EXP"]
    await update_user(1, [], ["exp"])
    await client.patch("/api/v1/segment/exp", json={"percent": 50}, headers=WRITE)
    await client.patch("/api/v1/segment/exp", json={"percent": 100}, headers=WRITE)
    assert await user_segments(1) == []
    assert await update_user(1, ["exp"]) == ["EXP"]


async def test_every_rollout_membership_is_in_the_history_and_published(
    register: Any, create_segment: Any, db: asyncpg.Pool
) -> None:
    await register(USERS[:300])
    await create_segment("exp", percent=50)
    await register(USERS[:600])
    rows = await history(db)
    assert {r[0] for r in rows} == await members(db, "EXP")
    assert {(r[2], r[3]) for r in rows} == {("add", "rollout")}
    events = await outbox_events(db, MEMBERSHIP_CHANGED)
    assert {e.user_id for e in events} == {r[0] for r in rows}


@pytest.mark.parametrize(
    "user_ids",
    [[0], [-5], ["x"], ["5"], [True], [3.0], [2**63], list(range(1, 100_002))],
    ids=["zero", "negative", "text", "digits-as-text", "boolean", "float", "too-big", "too-many"],
)
async def test_registering_bad_user_ids_is_rejected(client: Any, user_ids: list[Any]) -> None:
    error = await expect_error(
        await client.post("/api/v1/users", json={"user_ids": user_ids}, headers=WRITE), 400
    )
    assert error["details"][0]["field"].startswith("user_ids")


async def test_a_segment_created_while_users_register_covers_them_by_the_same_rule(
    client: Any, register: Any, db: asyncpg.Pool
) -> None:
    async def create() -> None:
        response = await client.post("/api/v1/segment", json={"slug": "racing", "percent": 40}, headers=WRITE)
        assert response.status == 201, await response.text()

    await asyncio.gather(*(register(USERS[i : i + 200]) for i in range(0, len(USERS), 200)), create())
    salt = await db.fetchval("SELECT salt FROM segments WHERE slug = 'RACING'")
    expected = await db.fetch("SELECT user_id FROM users WHERE rollout_bucket($1, user_id) < 4000", salt)
    assert await members(db, "RACING") == {r["user_id"] for r in expected}


async def test_concurrent_registrations_of_overlapping_ids_both_succeed(
    client: Any, db: asyncpg.Pool
) -> None:
    """Both calls insert the shared ids; in different orders they could deadlock (a 500 for one)."""
    for round_ in range(3):
        base = round_ * 100_000
        first, second = await asyncio.gather(
            client.post(
                "/api/v1/users", json={"user_ids": list(range(base + 1, base + 30_001))}, headers=WRITE
            ),
            client.post(
                "/api/v1/users", json={"user_ids": list(range(base + 10_001, base + 60_001))}, headers=WRITE
            ),
        )
        assert (first.status, second.status) == (200, 200), (await first.text(), await second.text())
    assert await db.fetchval("SELECT count(*) FROM users") == 3 * 60_000


async def _user_in_buckets(db: asyncpg.Pool, slug: str, low: int, high: int) -> int:
    user_id = await db.fetchval(
        """SELECT u.user_id FROM users u, segments s
           WHERE s.slug = $1 AND rollout_bucket(s.salt, u.user_id) >= $2 AND rollout_bucket(s.salt, u.user_id) < $3
           ORDER BY u.user_id LIMIT 1""",
        slug,
        low,
        high,
    )
    assert user_id is not None
    return int(user_id)


@pytest.mark.parametrize("swept", [False, True], ids=["before-the-sweep", "after-the-sweep"])
async def test_growing_does_not_bring_back_a_member_whose_ttl_ended(
    register: Any,
    create_segment: Any,
    update_user: Any,
    user_segments: Any,
    client: Any,
    db: asyncpg.Pool,
    swept: bool,
) -> None:
    await register(list(range(1, 401)))
    await create_segment("ttl", percent=50)
    member = await _user_in_buckets(db, "TTL", 0, 5_000)
    await update_user(member, [{"slug": "ttl", "ttl_seconds": 3600}])
    await expire_now(db, member, "TTL")
    if swept:
        await memberships.expire_memberships(db)
    await expect(await client.patch("/api/v1/segment/ttl", json={"percent": 60}, headers=WRITE), 200)
    assert await user_segments(member) == []
    assert (await history(db, member))[-1] == (member, "TTL", "delete", "ttl")


async def test_growing_covers_a_user_whose_expired_membership_is_not_swept_yet(
    register: Any, create_segment: Any, update_user: Any, user_segments: Any, client: Any, db: asyncpg.Pool
) -> None:
    await register(list(range(1, 401)))
    await create_segment("grow", percent=50)
    joining = await _user_in_buckets(db, "GROW", 5_000, 6_000)
    await update_user(joining, [{"slug": "grow", "ttl_seconds": 3600}])
    await expire_now(db, joining, "GROW")  # expired; no worker runs here, so nothing swept it
    await expect(await client.patch("/api/v1/segment/grow", json={"percent": 60}, headers=WRITE), 200)
    assert await user_segments(joining) == ["GROW"]
    assert [(op, reason) for _, _, op, reason in await history(db, joining)] == [
        ("add", "manual"),
        ("delete", "ttl"),
        ("add", "rollout"),
    ]


async def test_a_growing_rollout_holds_no_lock_that_user_updates_and_reads_wait_for(
    client: Any,
    register: Any,
    create_segment: Any,
    update_user: Any,
    user_segments: Any,
    db: asyncpg.Pool,
    settings: Any,
) -> None:
    """The growth is stalled mid-way (another transaction holds a row it must write); meanwhile an
    update of a user the growth is not at, of the same segment, and reads, answer at once."""
    await register(USERS)
    await create_segment("grow", percent=10)
    stalled_user = await _user_in_buckets_above(db, "GROW", 1_000, 6_000, 1_500)
    blocker = await asyncpg.connect(settings.pg_dsn)
    try:
        blocking = blocker.transaction()
        await blocking.start()
        # An uncommitted membership of a user the growth adds: its INSERT waits for this transaction.
        await blocker.execute(
            """INSERT INTO segments.memberships (user_id, segment_id, source, started_at)
               SELECT $1, id, 'manual', now() FROM segments.segments WHERE slug = 'GROW'""",
            stalled_user,
        )
        growing = asyncio.ensure_future(
            client.patch("/api/v1/segment/grow", json={"percent": 60}, headers=WRITE)
        )

        async def stalled() -> bool:
            return bool(
                await db.fetchval(
                    """SELECT count(*) FROM pg_stat_activity
                       WHERE datname = current_database() AND wait_event_type = 'Lock'"""
                )
            )

        await eventually(stalled, timeout=10)
        assert await asyncio.wait_for(update_user(7, ["grow"]), timeout=5) == ["GROW"]
        assert await asyncio.wait_for(user_segments(7), timeout=5) == ["GROW"]
        assert not growing.done()
        await blocking.rollback()
        response = await asyncio.wait_for(growing, timeout=30)
        assert response.status == 200, await response.text()
    finally:
        await blocker.close()
    salt = await db.fetchval("SELECT salt FROM segments WHERE slug = 'GROW'")
    expected = await db.fetch("SELECT user_id FROM users WHERE rollout_bucket($1, user_id) < 6000", salt)
    assert await members(db, "GROW") == {r["user_id"] for r in expected} | {7}
    assert await db.fetchval("SELECT count(*) FROM rollout_growths") == 0


async def _user_in_buckets_above(db: asyncpg.Pool, slug: str, low: int, high: int, above: int) -> int:
    user_id = await db.fetchval(
        """SELECT u.user_id FROM users u, segments s
           WHERE s.slug = $1 AND u.user_id > $4
             AND rollout_bucket(s.salt, u.user_id) >= $2 AND rollout_bucket(s.salt, u.user_id) < $3
           ORDER BY u.user_id LIMIT 1""",
        slug,
        low,
        high,
        above,
    )
    assert user_id is not None
    return int(user_id)


async def test_a_growth_left_half_done_is_finished_by_the_worker(
    register: Any, create_segment: Any, db: asyncpg.Pool, worker: Any
) -> None:
    await register(USERS)
    await create_segment("resumed", percent=10)
    # What a crash between two batches leaves: the new percent, and the users after 1,000 still to do.
    await db.execute(
        """
        WITH s AS (UPDATE segments SET rollout_buckets = 5000 WHERE slug = 'RESUMED' RETURNING id)
        INSERT INTO rollout_growths (segment_id, from_buckets, to_buckets, next_user_id)
        SELECT id, 1000, 5000, 1000 FROM s
        """
    )

    async def finished() -> bool:
        return await db.fetchval("SELECT count(*) FROM rollout_growths") == 0

    await eventually(finished, timeout=20)
    salt = await db.fetchval("SELECT salt FROM segments WHERE slug = 'RESUMED'")
    after = await db.fetch(
        "SELECT user_id FROM users WHERE user_id > 1000 AND rollout_bucket($1, user_id) < 5000", salt
    )
    assert {r["user_id"] for r in after} <= await members(db, "RESUMED")


async def test_a_growth_pauses_after_each_batch_for_its_share_of_the_batch_time(
    register: Any, create_segment: Any, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segments.usecases import segments as segments_usecases

    await register(USERS)
    await create_segment("paced", percent=10)
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(segments_usecases.asyncio, "sleep", recorded)
    await segments_usecases.change_rollout(db, "PACED", 5000, batch_users=500, pause_ratio=2.0)
    # 2,000 users in batches of 500: four batches, each followed by a pause; the empty fifth ends it.
    assert len(pauses) == 4 and all(p > 0 for p in pauses)
    salt = await db.fetchval("SELECT salt FROM segments WHERE slug = 'PACED'")
    expected = await db.fetch("SELECT user_id FROM users WHERE rollout_bucket($1, user_id) < 5000", salt)
    assert await members(db, "PACED") == {r["user_id"] for r in expected}
    pauses.clear()
    await segments_usecases.change_rollout(db, "PACED", 6000, batch_users=500)  # unpaced: no pause
    assert pauses == []
