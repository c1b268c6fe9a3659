"""SQL of segments."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

# Rollouts read the whole user population while registrations add to it. Without a lock, a segment
# created while users are being registered would miss them (neither transaction sees the other's
# rows). Segment creation / percent change / deletion hold this lock exclusively, registrations and
# implicit user creation hold it shared, and each takes it before the statement whose snapshot
# matters (READ COMMITTED takes a new snapshot per statement).
ROLLOUT_LOCK = 0x5E6_0001


async def lock_rollouts_exclusive(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", ROLLOUT_LOCK)


async def lock_rollouts_shared(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", ROLLOUT_LOCK)


async def insert_segment(conn: asyncpg.Connection, slug: str, buckets: int) -> asyncpg.Record | None:
    """None when the slug exists already (deleted or not)."""
    return await conn.fetchrow(
        """
        INSERT INTO segments (slug, rollout_buckets) VALUES ($1, $2)
        ON CONFLICT (slug) DO NOTHING RETURNING *
        """,
        slug,
        buckets,
    )


async def live_segment_for_update(conn: asyncpg.Connection, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM segments WHERE slug = $1 AND deleted_at IS NULL FOR UPDATE", slug
    )


async def set_rollout_buckets(conn: asyncpg.Connection, segment_id: int, buckets: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "UPDATE segments SET rollout_buckets = $2 WHERE id = $1 RETURNING *", segment_id, buckets
    )
    assert row is not None
    return row


async def mark_deleted(conn: asyncpg.Connection, segment_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("UPDATE segments SET deleted_at = now() WHERE id = $1 RETURNING *", segment_id)
    assert row is not None
    return row


async def live_segments(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM segments WHERE deleted_at IS NULL ORDER BY slug"))


async def segments_by_slug_for_share(
    conn: asyncpg.Connection, slugs: Sequence[str]
) -> dict[str, asyncpg.Record]:
    """The named segments, deleted ones included; FOR SHARE so a concurrent delete waits for us."""
    rows = await conn.fetch(
        "SELECT * FROM segments WHERE slug = any($1::text[]) ORDER BY id FOR SHARE", list(slugs)
    )
    return {row["slug"]: row for row in rows}
