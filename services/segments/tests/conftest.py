"""Fixtures: a fresh migrated database per test, the api over real HTTP, the real worker in-process
(relay, report task, TTL job) against the test RabbitMQ vhost and the moto S3 server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from quintet_testing import bearer, service_fixtures
from segments import SERVICE

READ = bearer("segments:read", sub="reader")
WRITE = bearer("segments:read segments:write", sub="analyst")


# Small rollout batches: every rollout in these tests is materialised in several of them.
globals().update(
    service_fixtures(
        SERVICE,
        ttl_sweep_seconds=0.5,
        pg_pool_max=8,
        rollout_batch_users=300,
        rollout_resume_seconds=0.5,
    )
)


@pytest.fixture
def create_segment(client: Any) -> Callable[..., Any]:
    async def create(slug: str, **fields: Any) -> dict[str, Any]:
        response = await client.post("/api/v1/segment", json={"slug": slug, **fields}, headers=WRITE)
        assert response.status == 201, await response.text()
        return dict(await response.json())

    return create


@pytest.fixture
def update_user(client: Any) -> Callable[..., Any]:
    async def update(
        user_id: int, add: list[Any] | None = None, delete: list[str] | None = None
    ) -> list[str]:
        response = await client.post(
            f"/api/v1/segments/user/{user_id}",
            json={"segments_to_add": add or [], "segments_to_delete": delete or []},
            headers=WRITE,
        )
        assert response.status == 200, await response.text()
        return list(await response.json())

    return update


@pytest.fixture
def user_segments(client: Any) -> Callable[..., Any]:
    async def get(user_id: int) -> list[str]:
        response = await client.get(f"/api/v1/segments/user/{user_id}", headers=READ)
        assert response.status == 200, await response.text()
        return list(await response.json())

    return get


@pytest.fixture
def register(client: Any) -> Callable[..., Any]:
    async def run(user_ids: list[int]) -> dict[str, Any]:
        response = await client.post("/api/v1/users", json={"user_ids": user_ids}, headers=WRITE)
        assert response.status == 200, await response.text()
        return dict(await response.json())

    return run


async def history(db: asyncpg.Pool, user_id: int | None = None) -> list[tuple[int, str, str, str]]:
    rows = await db.fetch(
        """
        SELECT user_id, slug, operation, reason FROM membership_history
        WHERE $1::bigint IS NULL OR user_id = $1 ORDER BY at, id
        """,
        user_id,
    )
    return [(r["user_id"], r["slug"], r["operation"], r["reason"]) for r in rows]


async def expire_now(db: asyncpg.Pool, user_id: int, slug: str) -> None:
    """Move the clock through SQL: the membership's TTL ends now (instead of sleeping until it does)."""
    status = await db.execute(
        """
        UPDATE memberships m SET expires_at = clock_timestamp() FROM segments s
        WHERE s.id = m.segment_id AND s.slug = $2 AND m.user_id = $1
        """,
        user_id,
        slug,
    )
    assert status == "UPDATE 1", status
