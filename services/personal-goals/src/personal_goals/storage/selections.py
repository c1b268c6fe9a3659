"""SQL of selections (campaigns) and their upload summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class SelectionSummary:
    selection_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    table_address: str | None  # the upload that created it (None: created by hand)
    upload_status: str | None
    total_rows: int | None
    last_row_index: int | None
    loaded: int
    skipped: int


_SUMMARY = """
SELECT s.selection_id, s.status, s.created_at, s.updated_at,
       p.table_address, p.status AS upload_status, p.total_rows, p.last_row_index,
       coalesce(p.loaded, 0) AS loaded, coalesce(p.skipped, 0) AS skipped
FROM selections s LEFT JOIN selection_upload_progresses p ON p.selection_id = s.selection_id
"""


async def list_selections(conn: asyncpg.Connection, *, offset: int, limit: int) -> list[SelectionSummary]:
    rows = await conn.fetch(_SUMMARY + " ORDER BY s.selection_id OFFSET $1 LIMIT $2", offset, limit)
    return [SelectionSummary(**dict(row)) for row in rows]


async def get_selection(conn: asyncpg.Connection, selection_id: str) -> SelectionSummary | None:
    row = await conn.fetchrow(_SUMMARY + " WHERE s.selection_id = $1", selection_id)
    return None if row is None else SelectionSummary(**dict(row))


async def set_status(conn: asyncpg.Connection, selection_id: str, status: str) -> str | None:
    """Set the status; returns the previous one (None when the selection does not exist)."""
    return await conn.fetchval(
        """
        UPDATE selections s SET status = $2, updated_at = now()
        FROM (SELECT selection_id, status FROM selections WHERE selection_id = $1 FOR UPDATE) old
        WHERE s.selection_id = old.selection_id
        RETURNING old.status
        """,
        selection_id,
        status,
    )
