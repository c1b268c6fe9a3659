"""Segments: create, change rollout, delete, list; scopes."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from quintet_contracts.segments import SEGMENT_CREATED, SEGMENT_DELETED
from quintet_testing import bearer, expect, expect_error, outbox_events
from segments.api.models import Segment

from .conftest import READ, WRITE, history


@pytest.mark.parametrize(
    ("body", "slug", "percent"),
    [
        ({"slug": "avito_voice_messages"}, "AVITO_VOICE_MESSAGES", 0),
        ({"slug": "disc-30.v2", "percent": 12.5}, "DISC-30.V2", 12.5),
        ({"slug": "seed", "selection": 0.3}, "SEED", 30),
    ],
)
async def test_a_segment_is_created_with_its_slug_upper_cased(
    client: Any, body: dict[str, Any], slug: str, percent: float
) -> None:
    segment = await expect(await client.post("/api/v1/segment", json=body, headers=WRITE), 201, Segment)
    assert (segment.slug, segment.percent) == (slug, percent)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "slug"),
        ({"slug": ""}, "slug"),
        ({"slug": "has space"}, "slug"),
        ({"slug": "A" * 129}, "slug"),
        ({"slug": 5}, "slug"),
        ({"slug": "A\u0000B"}, "slug"),
        ({"slug": "X", "percent": 101}, "percent"),
        ({"slug": "X", "percent": -0.5}, "percent"),
        ({"slug": "X", "percent": "many"}, "percent"),
        ({"slug": "X", "percent": True}, "percent"),
        ({"slug": "X", "selection": 2}, "selection"),
        ({"slug": "X", "percent": 10, "selection": 0.1}, "percent"),
        ({"slug": "X", "colour": "red"}, "colour"),
    ],
)
async def test_bad_segment_values_are_rejected_naming_the_field(
    client: Any, body: dict[str, Any], field: str
) -> None:
    error = await expect_error(
        await client.post("/api/v1/segment", json=body, headers=WRITE), 400, "validation_error"
    )
    assert field in [d["field"] for d in error["details"]], error


@pytest.mark.parametrize("deleted", [False, True], ids=["live", "deleted"])
async def test_an_existing_slug_conflicts_whether_deleted_or_not(
    client: Any, create_segment: Any, deleted: bool
) -> None:
    await create_segment("taken")
    if deleted:
        await expect(await client.delete("/api/v1/segment/TAKEN", headers=WRITE), 204)
    error = await expect_error(
        await client.post("/api/v1/segment", json={"slug": "Taken"}, headers=WRITE), 409
    )
    assert "TAKEN" in error["message"]


async def test_the_list_shows_live_segments_with_their_percent(client: Any, create_segment: Any) -> None:
    await create_segment("b", percent=10)
    await create_segment("a")
    await create_segment("gone")
    await expect(await client.delete("/api/v1/segment/gone", headers=WRITE), 204)
    segments = await expect(await client.get("/api/v1/segments", headers=READ), 200, list[Segment])
    assert [(s.slug, s.percent) for s in segments] == [("A", 0), ("B", 10)]


async def test_deleting_a_segment_ends_every_membership_with_history(
    client: Any, create_segment: Any, update_user: Any, user_segments: Any, db: asyncpg.Pool
) -> None:
    await create_segment("doomed")
    await create_segment("kept")
    await update_user(1, ["doomed", "kept"])
    await update_user(2, ["doomed"])
    await expect(await client.delete("/api/v1/segment/doomed", headers=WRITE), 204)
    assert await user_segments(1) == ["KEPT"]
    assert await user_segments(2) == []
    ended = [h for h in await history(db) if h[2] == "delete"]
    assert sorted(ended) == [
        (1, "DOOMED", "delete", "segment_deleted"),
        (2, "DOOMED", "delete", "segment_deleted"),
    ]
    [deleted] = await outbox_events(db, SEGMENT_DELETED)
    assert deleted.memberships_ended == 2


@pytest.mark.parametrize("slug", ["never", "twice"])
async def test_deleting_an_unknown_or_deleted_segment_is_not_found(
    client: Any, create_segment: Any, slug: str
) -> None:
    await create_segment("twice")
    await client.delete("/api/v1/segment/twice", headers=WRITE)
    await expect_error(
        await client.delete(f"/api/v1/segment/{slug}", headers=WRITE), 404, "segment_not_found"
    )


async def test_creating_a_segment_publishes_segment_created(
    client: Any, create_segment: Any, db: asyncpg.Pool
) -> None:
    await create_segment("fresh", percent=5)
    [payload] = await outbox_events(db, SEGMENT_CREATED)
    assert (payload.slug, payload.percent) == ("FRESH", 5)


@pytest.mark.parametrize(
    ("body", "status"),
    [({"percent": 20}, 200), ({"selection": 0.2}, 200), ({}, 400), ({"percent": 200}, 400)],
)
async def test_changing_the_percent_validates_it(
    client: Any, create_segment: Any, body: dict[str, Any], status: int
) -> None:
    await create_segment("exp")
    response = await client.patch("/api/v1/segment/exp", json=body, headers=WRITE)
    assert response.status == status, await response.text()


async def test_changing_the_percent_of_an_unknown_segment_is_not_found(client: Any) -> None:
    await expect_error(await client.patch("/api/v1/segment/none", json={"percent": 5}, headers=WRITE), 404)


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/api/v1/segments", {}, 401),
        ("GET", "/api/v1/segments", bearer("other:read"), 403),
        ("POST", "/api/v1/segment", READ, 403),
        ("POST", "/api/v1/segments/user/1", READ, 403),
        ("POST", "/api/v1/users", READ, 403),
        ("DELETE", "/api/v1/segment/X", READ, 403),
        ("GET", "/api/v1/segments/user/1", bearer("segments:read"), 200),
    ],
)
async def test_reads_need_segments_read_and_changes_segments_write(
    client: Any, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = await client.request(method, path, headers=headers, json={})
    assert response.status == status, await response.text()


async def test_the_openapi_document_describes_every_segments_path(client: Any) -> None:
    document = await expect(await client.get("/openapi.json"), 200, dict)
    assert {
        "/api/v1/segment",
        "/api/v1/segment/{slug}",
        "/api/v1/segments",
        "/api/v1/segments/user/{user_id}",
        "/api/v1/segments/user/{user_id}/csv",
        "/api/v1/users",
        "/api/v1/reports/{report_id}",
    } <= set(document["paths"])


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize(
    "path_slug",
    ["%EF%AC%80", "%C4%B1", "bad%20slug", "%00", "A%00B", "A" * 129],
    ids=["ligature-ff", "dotless-i", "space", "nul", "inner-nul", "too-long"],
)
async def test_a_path_slug_that_creation_would_refuse_is_rejected_and_changes_nothing(
    client: Any, create_segment: Any, method: str, path_slug: str
) -> None:
    """ "ﬀ".upper() is "FF", "ı".upper() is "I": a path must not reach a segment creation refuses to name so."""
    await create_segment("ff", percent=10)
    await create_segment("i")
    response = await client.request(
        method, f"/api/v1/segment/{path_slug}", json={"percent": 50}, headers=WRITE
    )
    error = await expect_error(response, 400, "validation_error")
    assert error["details"][0]["field"] == "slug"
    segments = await expect(await client.get("/api/v1/segments", headers=READ), 200, list[Segment])
    assert [(s.slug, s.percent) for s in segments] == [("FF", 10), ("I", 0)]
