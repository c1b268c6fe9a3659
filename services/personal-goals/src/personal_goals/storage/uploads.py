"""SQL of uploads: the table-level progress row, the per-selection progress rows, skipped rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class GoalUpload:
    table_address: str
    status: str
    total_rows: int
    last_row_index: int
    failure_reason: str | None
    generation: int


@dataclass(frozen=True)
class SelectionProgress:
    selection_id: str
    table_address: str
    status: str
    last_row_index: int
    total_rows: int
    loaded: int
    skipped: int
    updated_at: datetime


@dataclass(frozen=True)
class SkippedGoal:
    row_index: int
    goal_id: str | None
    selection_id: str | None
    reason: str


def _upload(row: asyncpg.Record | None) -> GoalUpload | None:
    if row is None:
        return None
    return GoalUpload(
        row["table_address"],
        row["status"],
        row["total_rows"],
        row["last_row_index"],
        row["failure_reason"],
        row["generation"],
    )


async def get_upload(conn: asyncpg.Connection, table_address: str) -> GoalUpload | None:
    return _upload(await conn.fetchrow("SELECT * FROM goal_uploads WHERE table_address = $1", table_address))


async def lock_upload(conn: asyncpg.Connection, table_address: str) -> GoalUpload | None:
    """The upload, locked until the transaction ends (chunks and status changes take turns)."""
    return _upload(
        await conn.fetchrow("SELECT * FROM goal_uploads WHERE table_address = $1 FOR UPDATE", table_address)
    )


async def insert_upload(conn: asyncpg.Connection, table_address: str, total_rows: int) -> bool:
    """Create the upload; False when it already exists (a concurrent first apply won)."""
    created = await conn.fetchval(
        """
        INSERT INTO goal_uploads (table_address, total_rows) VALUES ($1, $2)
        ON CONFLICT (table_address) DO NOTHING RETURNING true
        """,
        table_address,
        total_rows,
    )
    return bool(created)


async def insert_selection_progresses(
    conn: asyncpg.Connection, table_address: str, selection_rows: dict[str, int]
) -> None:
    """Selections (hidden) and their pending progress rows; a selection already uploaded violates the
    unique selection_id of the progress table (the caller turns that into a conflict)."""
    ids, rows = list(selection_rows), list(selection_rows.values())
    await conn.execute(
        "INSERT INTO selections (selection_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", ids
    )
    await conn.execute(
        """
        INSERT INTO selection_upload_progresses (selection_id, table_address, total_rows)
        SELECT unnest($2::text[]), $1, unnest($3::bigint[])
        """,
        table_address,
        ids,
        rows,
    )


async def selections_already_uploading(
    conn: asyncpg.Connection, table_address: str, selection_ids: Sequence[str]
) -> list[str]:
    """Selections an upload has claimed, except those of a cancelled upload of this very table (its
    next apply takes them over)."""
    rows = await conn.fetch(
        """
        SELECT p.selection_id
        FROM selection_upload_progresses p JOIN goal_uploads u ON u.table_address = p.table_address
        WHERE p.selection_id = any($2::text[])
          AND NOT (u.table_address = $1 AND u.status = 'cancelled')
        ORDER BY p.selection_id
        """,
        table_address,
        list(selection_ids),
    )
    return [row["selection_id"] for row in rows]


def _progress(row: asyncpg.Record) -> SelectionProgress:
    return SelectionProgress(
        row["selection_id"],
        row["table_address"],
        row["status"],
        row["last_row_index"],
        row["total_rows"],
        row["loaded"],
        row["skipped"],
        row["updated_at"],
    )


async def selection_progresses(conn: asyncpg.Connection, table_address: str) -> list[SelectionProgress]:
    rows = await conn.fetch(
        "SELECT * FROM selection_upload_progresses WHERE table_address = $1 ORDER BY selection_id",
        table_address,
    )
    return [_progress(row) for row in rows]


async def lock_selection_progresses(conn: asyncpg.Connection, table_address: str) -> list[SelectionProgress]:
    rows = await conn.fetch(
        """
        SELECT * FROM selection_upload_progresses WHERE table_address = $1
        ORDER BY selection_id FOR UPDATE
        """,
        table_address,
    )
    return [_progress(row) for row in rows]


async def save_selection_progresses(
    conn: asyncpg.Connection, progresses: Sequence[SelectionProgress]
) -> None:
    await conn.execute(
        """
        UPDATE selection_upload_progresses p
        SET status = v.status, last_row_index = v.last_row_index, loaded = v.loaded, skipped = v.skipped,
            updated_at = now()
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
            AS v(selection_id, status, last_row_index, loaded, skipped)
        WHERE p.selection_id = v.selection_id
        """,
        [p.selection_id for p in progresses],
        [p.status for p in progresses],
        [p.last_row_index for p in progresses],
        [p.loaded for p in progresses],
        [p.skipped for p in progresses],
    )


async def advance_upload(
    conn: asyncpg.Connection, table_address: str, last_row_index: int, status: str
) -> None:
    await conn.execute(
        """
        UPDATE goal_uploads SET last_row_index = $2, status = $3, updated_at = now()
        WHERE table_address = $1
        """,
        table_address,
        last_row_index,
        status,
    )


async def cancel_upload(conn: asyncpg.Connection, table_address: str) -> list[SelectionProgress]:
    """Mark the upload and its unfinished selections cancelled; returns the selections it cancelled."""
    await conn.execute(
        "UPDATE goal_uploads SET status = 'cancelled', updated_at = now() WHERE table_address = $1",
        table_address,
    )
    rows = await conn.fetch(
        """
        UPDATE selection_upload_progresses SET status = 'cancelled', updated_at = now()
        WHERE table_address = $1 AND status IN ('pending', 'in_progress', 'failed') RETURNING *
        """,
        table_address,
    )
    return [_progress(row) for row in rows]


async def restart_cancelled_upload(conn: asyncpg.Connection, table_address: str, total_rows: int) -> int:
    """Start a cancelled upload over as its next generation: what the cancelled one loaded or
    skipped is removed (a selection is uploaded by one upload only, so its goals are the upload's).
    Returns the new generation."""
    await conn.execute(
        """
        DELETE FROM goals g USING selection_upload_progresses p
        WHERE p.table_address = $1 AND g.selection_id = p.selection_id
        """,
        table_address,
    )
    await conn.execute("DELETE FROM goal_upload_skips WHERE table_address = $1", table_address)
    await conn.execute("DELETE FROM selection_upload_progresses WHERE table_address = $1", table_address)
    generation: int = await conn.fetchval(
        """
        UPDATE goal_uploads
        SET status = 'pending', generation = generation + 1, total_rows = $2, last_row_index = 0,
            failure_reason = NULL, updated_at = now()
        WHERE table_address = $1 AND status = 'cancelled'
        RETURNING generation
        """,
        table_address,
        total_rows,
    )
    return generation


async def fail_upload(conn: asyncpg.Connection, table_address: str, reason: str) -> list[SelectionProgress]:
    """Mark the upload and its unfinished selections failed; returns the selections it failed."""
    await conn.execute(
        """
        UPDATE goal_uploads SET status = 'failed', failure_reason = $2, updated_at = now()
        WHERE table_address = $1 AND status IN ('pending', 'in_progress')
        """,
        table_address,
        reason[:2000],
    )
    rows = await conn.fetch(
        """
        UPDATE selection_upload_progresses SET status = 'failed', updated_at = now()
        WHERE table_address = $1 AND status IN ('pending', 'in_progress') RETURNING *
        """,
        table_address,
    )
    return [_progress(row) for row in rows]


async def skipped_goals(
    conn: asyncpg.Connection, table_address: str, *, offset: int, limit: int
) -> tuple[list[SkippedGoal], int]:
    rows = await conn.fetch(
        """
        SELECT row_index, goal_id, selection_id, reason FROM goal_upload_skips
        WHERE table_address = $1 ORDER BY row_index OFFSET $2 LIMIT $3
        """,
        table_address,
        offset,
        limit,
    )
    total = await conn.fetchval(
        "SELECT count(*) FROM goal_upload_skips WHERE table_address = $1", table_address
    )
    return [SkippedGoal(r["row_index"], r["goal_id"], r["selection_id"], r["reason"]) for r in rows], int(
        total
    )
