"""SQL of history reports."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from segments.domain.model import Report


def _report(row: asyncpg.Record) -> Report:
    return Report(
        row["report_id"],
        row["user_id"],
        row["period_from"],
        row["period_to"],
        row["status"],
        row["object_key"],
        row["failure_reason"],
    )


async def insert_or_find_pending(
    conn: asyncpg.Connection, report_id: uuid.UUID, user_id: int, start: date, end: date
) -> tuple[uuid.UUID, bool]:
    """(the report id, whether it is new): a pending report of the same user and period is reused.
    The no-op update makes a concurrent identical request wait for ours and return the same row."""
    row = await conn.fetchrow(
        """
        INSERT INTO reports (report_id, user_id, period_from, period_to) VALUES ($1, $2, $3, $4)
        ON CONFLICT (user_id, period_from, period_to) WHERE status = 'pending'
        DO UPDATE SET status = reports.status
        RETURNING report_id, (xmax = 0) AS inserted
        """,
        report_id,
        user_id,
        start,
        end,
    )
    assert row is not None
    return row["report_id"], row["inserted"]


async def get_report(conn: asyncpg.Connection | asyncpg.Pool, report_id: uuid.UUID) -> Report | None:
    row = await conn.fetchrow("SELECT * FROM reports WHERE report_id = $1", report_id)
    return None if row is None else _report(row)


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
        reason,
    )
