"""SQL of rollout growths: the part of a grown rollout still to be materialised, batch by batch."""

from __future__ import annotations

import asyncpg

from segments.domain.model import Growth


async def start_growth(conn: asyncpg.Connection, segment_id: int, from_buckets: int, to_buckets: int) -> None:
    await conn.execute(
        "INSERT INTO rollout_growths (segment_id, from_buckets, to_buckets) VALUES ($1, $2, $3)",
        segment_id,
        from_buckets,
        to_buckets,
    )


async def growth_pending(conn: asyncpg.Connection, segment_id: int) -> bool:
    """Read without a lock: a batch holds the growth row, and a percent change must not wait for it."""
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM rollout_growths WHERE segment_id = $1)", segment_id)
    )


async def growth_for_update(conn: asyncpg.Connection, segment_id: int) -> Growth | None:
    """The growth, locked: concurrent drivers of one growth take its batches in turn. Only the growth
    row is locked (not the segment's), so user updates of the segment never wait for a batch."""
    row = await conn.fetchrow(
        """
        SELECT g.segment_id, s.slug, s.salt, g.from_buckets, g.to_buckets, g.next_user_id
        FROM rollout_growths g JOIN segments s ON s.id = g.segment_id
        WHERE g.segment_id = $1
        FOR UPDATE OF g
        """,
        segment_id,
    )
    if row is None:
        return None
    return Growth(
        row["segment_id"],
        row["slug"],
        row["salt"],
        row["from_buckets"],
        row["to_buckets"],
        row["next_user_id"],
    )


async def lock_next_users(conn: asyncpg.Connection, after_user_id: int, limit: int) -> int | None:
    """Share-lock the next `limit` users after `after_user_id`; the last one's id (None: no more).
    An update of one of them (FOR UPDATE of its row) waits for this batch, and the batch for it, so
    an explicit delete is never undone by a rollout add read from an older snapshot."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        """
        SELECT max(user_id) FROM (
            SELECT user_id FROM users WHERE user_id > $1 ORDER BY user_id LIMIT $2 FOR SHARE
        ) AS batch
        """,
        after_user_id,
        limit,
    )


async def advance_growth(conn: asyncpg.Connection, segment_id: int, next_user_id: int) -> None:
    await conn.execute(
        "UPDATE rollout_growths SET next_user_id = $2 WHERE segment_id = $1", segment_id, next_user_id
    )


async def end_growth(conn: asyncpg.Connection, segment_id: int) -> None:
    """Done, or the segment is deleted (waits for a batch in progress: it holds the row)."""
    await conn.execute("DELETE FROM rollout_growths WHERE segment_id = $1", segment_id)


async def pending_growths(conn: asyncpg.Connection | asyncpg.Pool) -> list[int]:
    return [row[0] for row in await conn.fetch("SELECT segment_id FROM rollout_growths ORDER BY started_at")]
