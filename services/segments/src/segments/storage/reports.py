"""SQL of history reports."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg


async def insert_report(
    conn: asyncpg.Connection, report_id: uuid.UUID, user_id: int, start: date, end: date
) -> None:
    await conn.execute(
        "INSERT INTO reports (report_id, user_id, period_from, period_to) VALUES ($1, $2, $3, $4)",
        report_id,
        user_id,
        start,
        end,
    )


async def get_report(conn: asyncpg.Connection | asyncpg.Pool, report_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM reports WHERE report_id = $1", report_id)


async def mark_ready(conn: asyncpg.Connection, report_id: uuid.UUID, object_key: str) -> None:
    await conn.execute(
        "UPDATE reports SET status = 'ready', object_key = $2, finished_at = now() WHERE report_id = $1",
        report_id,
        object_key,
    )


async def mark_failed(conn: asyncpg.Connection, report_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        """
        UPDATE reports SET status = 'failed', failure_reason = $2, finished_at = now()
        WHERE report_id = $1 AND status = 'pending'
        """,
        report_id,
        reason[:2000],
    )
