"""A user's memberships: atomic updates, validation, idempotency, concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from quintet_contracts.segments import MEMBERSHIP_CHANGED
from quintet_testing import expect_error, outbox_events

from .conftest import READ, WRITE, history


@pytest.fixture
async def segments_abc(create_segment: Any) -> None:
    for slug in ("a", "b", "c"):
        await create_segment(slug)


async def test_adding_and_deleting_answers_the_segments_afterwards(
    segments_abc: None, update_user: Any
) -> None:
    assert await update_user(7, ["c", "a", "b"]) == ["A", "B", "C"]
    assert await update_user(7, [], ["b"]) == ["A", "C"]


async def test_an_unknown_user_has_no_segments(user_segments: Any) -> None:
    assert await user_segments(999_999) == []


@pytest.mark.parametrize(
    ("add", "delete", "missing"),
    [
        (["a", "nope"], [], ["NOPE"]),
        (["a"], ["gone", "nope"], ["GONE", "NOPE"]),
        ([{"slug": "gone", "ttl_seconds": 5}], ["b"], ["GONE"]),
    ],
)
async def test_an_unknown_or_deleted_slug_fails_the_whole_update_naming_them_all(
    client: Any,
    segments_abc: None,
    create_segment: Any,
    update_user: Any,
    user_segments: Any,
    db: asyncpg.Pool,
    add: list[Any],
    delete: list[str],
    missing: list[str],
) -> None:
    await create_segment("gone")
    await client.delete("/api/v1/segment/gone", headers=WRITE)
    await update_user(7, ["b"])
    before = await history(db)
    response = await client.post(
        "/api/v1/segments/user/7", json={"segments_to_add": add, "segments_to_delete": delete}, headers=WRITE
    )
    error = await expect_error(response, 404, "segment_not_found")
    assert error["details"]["slugs"] == missing
    assert await user_segments(7) == ["B"]
    assert await history(db) == before


IN_FUTURE = (datetime.now(UTC) + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"segments_to_add": ["a", "A"]}, "segments_to_add"),
        ({"segments_to_add": ["a"], "segments_to_delete": ["a"]}, "segments_to_add"),
        ({"segments_to_delete": ["b", "b"]}, "segments_to_add"),
        ({"segments_to_add": [{"slug": "a", "expires_at": "2020-01-01T00:00:00Z"}]}, "segments_to_add.0"),
        ({"segments_to_add": ["b", {"slug": "a", "ttl_seconds": 0}]}, "segments_to_add.1"),
        (
            {"segments_to_add": [{"slug": "a", "ttl_seconds": 5, "expires_at": IN_FUTURE}]},
            "segments_to_add.0",
        ),
        ({"segments_to_add": [{"slug": "a", "expires_at": "tomorrow"}]}, "segments_to_add.0"),
        ({"segments_to_add": [{"slug": "a", "ttl_seconds": 10**18}]}, "segments_to_add.0"),
        ({"segments_to_add": [{"slug": "a", "expires_at": "9999-12-31T23:59:59"}]}, "segments_to_add.0"),
        (
            {"segments_to_add": [{"slug": "a", "expires_at": "9999-12-31T23:59:59-23:59"}]},
            "segments_to_add.0",
        ),
        ({"segments_to_add": [{"slug": "a", "ttl_seconds": True}]}, "segments_to_add.0"),
        ({"segments_to_add": ["bad slug"]}, "segments_to_add.0"),
        ({"segments_to_add": ["a\u0000"]}, "segments_to_add.0"),
        ({"segments_to_delete": ["\u0000"]}, "segments_to_delete.0"),
        ({"segments_to_add": "a"}, "segments_to_add"),
        ({"segments_to_delete": [{"slug": "a"}]}, "segments_to_delete.0"),
        ({"segments": ["a"]}, "segments"),
    ],
)
async def test_a_bad_update_is_rejected_naming_the_field_and_changes_nothing(
    client: Any, segments_abc: None, user_segments: Any, body: dict[str, Any], field: str
) -> None:
    error = await expect_error(await client.post("/api/v1/segments/user/7", json=body, headers=WRITE), 400)
    fields = [d["field"] for d in error["details"]]
    assert any(f.startswith(field) for f in fields), error
    assert await user_segments(7) == []


@pytest.mark.parametrize(
    "user_id", ["0", "-1", "abc", "1.5", "5.0", "+6", "1_000", "%207", str(2**63), "99999999999999999999999"]
)
async def test_a_user_id_must_be_a_positive_64_bit_integer(client: Any, user_id: str) -> None:
    for response in (
        await client.get(f"/api/v1/segments/user/{user_id}", headers=READ),
        await client.post(f"/api/v1/segments/user/{user_id}", json={"segments_to_add": []}, headers=WRITE),
        await client.get(f"/api/v1/segments/user/{user_id}/csv?period=2023-08", headers=READ),
    ):
        error = await expect_error(response, 400, "validation_error")
        assert error["details"][0]["field"] == "user_id"


async def test_the_largest_64_bit_user_id_is_accepted(segments_abc: None, update_user: Any) -> None:
    assert await update_user(2**63 - 1, ["a"]) == ["A"]


async def test_re_adding_an_active_segment_keeps_one_membership(
    segments_abc: None, update_user: Any, db: asyncpg.Pool
) -> None:
    await update_user(7, ["a"])
    await update_user(7, ["a"])
    assert await db.fetchval("SELECT count(*) FROM memberships WHERE user_id = 7") == 1
    assert await history(db, 7) == [(7, "A", "add", "manual")]


async def test_re_adding_with_a_ttl_sets_the_ttl_of_the_membership(
    segments_abc: None, update_user: Any, db: asyncpg.Pool
) -> None:
    await update_user(7, ["a"])
    await update_user(7, [{"slug": "a", "ttl_seconds": 3600}])
    expires_at = await db.fetchval("SELECT expires_at FROM memberships WHERE user_id = 7")
    assert timedelta(minutes=59) < expires_at - datetime.now(UTC) <= timedelta(hours=1)
    assert len(await history(db, 7)) == 1


async def test_deleting_a_segment_the_user_does_not_have_writes_no_history(
    segments_abc: None, update_user: Any, db: asyncpg.Pool
) -> None:
    await update_user(7, ["a"])
    assert await update_user(7, [], ["b"]) == ["A"]
    assert await history(db, 7) == [(7, "A", "add", "manual")]


async def test_every_change_is_recorded_and_published(
    segments_abc: None, update_user: Any, db: asyncpg.Pool
) -> None:
    await update_user(7, ["a", "b"])
    await update_user(7, [], ["a"])
    assert await history(db, 7) == [
        (7, "A", "add", "manual"),
        (7, "B", "add", "manual"),
        (7, "A", "delete", "manual"),
    ]
    events = await outbox_events(db, MEMBERSHIP_CHANGED)
    assert sorted((e.user_id, e.slug, e.operation, e.reason) for e in events) == sorted(await history(db, 7))


async def test_concurrent_updates_of_one_user_neither_lose_a_change_nor_duplicate_a_membership(
    client: Any, create_segment: Any, user_segments: Any, db: asyncpg.Pool
) -> None:
    slugs = [f"S{i}" for i in range(12)]
    for slug in slugs:
        await create_segment(slug)

    async def post(body: dict[str, Any]) -> None:
        response = await client.post("/api/v1/segments/user/42", json=body, headers=WRITE)
        assert response.status == 200, await response.text()

    # Every slug added by three racing requests (the user is also created by them), then the even
    # ones deleted by racing requests.
    await asyncio.gather(*(post({"segments_to_add": [slug]}) for slug in slugs for _ in range(3)))
    assert await user_segments(42) == sorted(slugs)
    assert await db.fetchval("SELECT count(*) FROM memberships WHERE user_id = 42") == len(slugs)
    await asyncio.gather(*(post({"segments_to_delete": [slug]}) for slug in slugs[::2] for _ in range(2)))
    assert await user_segments(42) == sorted(slugs[1::2])
    operations = await history(db, 42)
    assert sorted(h[1] for h in operations if h[2] == "add") == sorted(slugs)
    assert sorted(h[1] for h in operations if h[2] == "delete") == sorted(slugs[::2])


async def test_racing_adds_and_deletes_of_one_segment_leave_a_history_that_replays_to_the_get_answer(
    client: Any, create_segment: Any, update_user: Any, user_segments: Any, db: asyncpg.Pool
) -> None:
    await create_segment("flip")
    await update_user(42, [])

    async def post(body: dict[str, Any]) -> None:
        response = await client.post("/api/v1/segments/user/42", json=body, headers=WRITE)
        assert response.status == 200, await response.text()

    bodies = [{"segments_to_add": ["flip"]} if i % 2 else {"segments_to_delete": ["flip"]} for i in range(30)]
    await asyncio.gather(*(post(body) for body in bodies))
    active: set[str] = set()
    operations = await history(db, 42)
    for _, slug, operation, _ in operations:
        assert (slug in active) is (operation == "delete"), operations  # strictly alternating
        (active.add if operation == "add" else active.discard)(slug)
    assert sorted(active) == await user_segments(42)
