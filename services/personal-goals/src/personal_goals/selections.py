"""Selection status changes at the service boundary: the change and its event commit together."""

from __future__ import annotations

import asyncpg

from personal_goals.storage import selections as selections_sql
from quintet_contracts.personal_goals import SELECTION_STATUS_CHANGED, SelectionStatusChanged
from quintet_messaging import publish_event


async def update_selection_status(pool: asyncpg.Pool, selection_id: str, status: str) -> bool:
    """Set the status; False when the selection does not exist. Only a real change is published."""
    async with pool.acquire() as conn, conn.transaction():
        previous = await selections_sql.set_status(conn, selection_id, status)
        if previous is None:
            return False
        if previous != status:
            await publish_event(
                conn,
                SELECTION_STATUS_CHANGED,
                SelectionStatusChanged(selection_id=selection_id, status=status, previous_status=previous),  # type: ignore[arg-type]
            )
    return True
