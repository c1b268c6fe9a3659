"""Selections: status changes (the change and its event commit together) and the admin reads."""

from __future__ import annotations

import asyncpg

from personal_goals.domain.errors import SelectionNotFound
from personal_goals.storage import selections as selections_sql
from personal_goals.storage.selections import SelectionSummary
from quintet_contracts.personal_goals import SELECTION_STATUS_CHANGED, SelectionStatusChanged
from quintet_messaging import publish_event


async def update_selection_status(pool: asyncpg.Pool, selection_id: str, status: str) -> SelectionSummary:
    """Set the status and answer the selection; only a real change is published."""
    async with pool.acquire() as conn, conn.transaction():
        previous = await selections_sql.set_status(conn, selection_id, status)
        if previous is None:
            raise SelectionNotFound(selection_id)
        if previous != status:
            await publish_event(
                conn,
                SELECTION_STATUS_CHANGED,
                SelectionStatusChanged(selection_id=selection_id, status=status, previous_status=previous),  # type: ignore[arg-type]
            )
        summary = await selections_sql.get_selection(conn, selection_id)
    assert summary is not None
    return summary


async def list_selections(pool: asyncpg.Pool, *, offset: int, limit: int) -> list[SelectionSummary]:
    async with pool.acquire() as conn:
        return await selections_sql.list_selections(conn, offset=offset, limit=limit)


async def get_selection(pool: asyncpg.Pool, selection_id: str) -> SelectionSummary:
    async with pool.acquire() as conn:
        summary = await selections_sql.get_selection(conn, selection_id)
    if summary is None:
        raise SelectionNotFound(selection_id)
    return summary
