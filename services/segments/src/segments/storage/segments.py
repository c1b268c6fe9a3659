"""SQL of segments."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from segments.domain.model import Segment

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


def _segment(row: asyncpg.Record) -> Segment:
    return Segment(
        row["id"], row["slug"], row["rollout_buckets"], row["salt"], row["created_at"], row["deleted_at"]
    )


def _maybe_segment(row: asyncpg.Record | None) -> Segment | None:
    return None if row is None else _segment(row)


async def insert_segment(conn: asyncpg.Connection, slug: str, buckets: int) -> Segment | None:
    """None when the slug exists already (deleted or not)."""
    row = await conn.fetchrow(
        """
        INSERT INTO segments (slug, rollout_buckets) VALUES ($1, $2)
        ON CONFLICT (slug) DO NOTHING RETURNING *
        """,
        slug,
        buckets,
    )
    return _maybe_segment(row)


async def live_segment(conn: asyncpg.Connection, slug: str) -> Segment | None:
    row = await conn.fetchrow("SELECT * FROM segments WHERE slug = $1 AND deleted_at IS NULL", slug)
    return _maybe_segment(row)


async def live_segment_for_update(conn: asyncpg.Connection, slug: str) -> Segment | None:
    row = await conn.fetchrow(
        "SELECT * FROM segments WHERE slug = $1 AND deleted_at IS NULL FOR UPDATE", slug
    )
    return _maybe_segment(row)


async def set_rollout_buckets(conn: asyncpg.Connection, segment_id: int, buckets: int) -> Segment:
    row = await conn.fetchrow(
        "UPDATE segments SET rollout_buckets = $2 WHERE id = $1 RETURNING *", segment_id, buckets
    )
    assert row is not None
    return _segment(row)


async def mark_deleted(conn: asyncpg.Connection, segment_id: int) -> Segment:
    row = await conn.fetchrow("UPDATE segments SET deleted_at = now() WHERE id = $1 RETURNING *", segment_id)
    assert row is not None
    return _segment(row)


async def live_segments(conn: asyncpg.Connection) -> list[Segment]:
    rows = await conn.fetch("SELECT * FROM segments WHERE deleted_at IS NULL ORDER BY slug")
    return [_segment(row) for row in rows]


async def segments_by_slug_for_share(conn: asyncpg.Connection, slugs: Sequence[str]) -> dict[str, Segment]:
    """The named segments, deleted ones included; FOR SHARE so a concurrent delete waits for us."""
    rows = await conn.fetch(
        "SELECT * FROM segments WHERE slug = any($1::text[]) ORDER BY id FOR SHARE", list(slugs)
    )
    return {row["slug"]: _segment(row) for row in rows}
