"""SQL of the archive: a batch of completed matchings is claimed, written out, then deleted."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg


async def pending_batches(conn: asyncpg.Connection | asyncpg.Pool) -> list[uuid.UUID]:
    """Batches claimed but not yet deleted (a run that stopped between writing and deleting)."""
    rows = await conn.fetch("SELECT id FROM archive_batches ORDER BY created_at, id")
    return [row["id"] for row in rows]


async def claim_batch(
    conn: asyncpg.Connection, batch_id: uuid.UUID, completed_before: datetime, limit: int
) -> int:
    """Put up to `limit` completed matchings older than `completed_before` into a new batch."""
    await conn.execute("INSERT INTO archive_batches (id) VALUES ($1)", batch_id)
    status = await conn.execute(
        """
        UPDATE matchings SET archive_batch_id = $1
        WHERE id IN (
            SELECT id FROM matchings
            WHERE status IN ('succeed', 'failed') AND completed_at < $2 AND archive_batch_id IS NULL
            ORDER BY completed_at, id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        """,
        batch_id,
        completed_before,
        limit,
    )
    claimed = int(status.rsplit(" ", 1)[1])
    if not claimed:
        await conn.execute("DELETE FROM archive_batches WHERE id = $1", batch_id)
    return claimed


async def batch_rows(conn: asyncpg.Connection | asyncpg.Pool, batch_id: uuid.UUID) -> list[asyncpg.Record]:
    """The batch's matchings with their transitions and results as JSON text (archived as they are)."""
    return list(
        await conn.fetch(
            """
            SELECT m.*,
                (SELECT coalesce(json_agg(t ORDER BY t.id), '[]')::text
                 FROM (SELECT id, created_at, from_status, to_status FROM status_transitions
                       WHERE matching_id = m.id) t) AS transitions,
                (SELECT coalesce(json_agg(r ORDER BY r.stage), '[]')::text
                 FROM (SELECT * FROM results WHERE matching_id = m.id) r) AS results
            FROM matchings m WHERE m.archive_batch_id = $1
            ORDER BY m.id
            """,
            batch_id,
        )
    )


async def delete_batch(conn: asyncpg.Connection, batch_id: uuid.UUID) -> int:
    """Delete the batch's matchings with their transitions (results cascade) and the batch itself."""
    deleted = await conn.fetchval(
        """
        WITH gone AS (DELETE FROM matchings WHERE archive_batch_id = $1 RETURNING id),
        transitions AS (
            DELETE FROM status_transitions WHERE matching_id IN (SELECT id FROM gone)
        )
        SELECT count(*) FROM gone
        """,
        batch_id,
    )
    await conn.execute("DELETE FROM archive_batches WHERE id = $1", batch_id)
    return int(deleted)
