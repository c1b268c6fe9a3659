"""Recording status changes: every change gets its transition row and its event, in the caller's
transaction (the same one that changed the status)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from contractor_mentorship.storage import matchings as matchings_sql
from quintet_contracts.contractor_mentorship import MATCHING_CHANGED, DriverRef, MatchingChanged
from quintet_messaging import publish_events_many


def _event(row: asyncpg.Record, from_status: str | None, to_status: str) -> MatchingChanged:
    mentor = (
        DriverRef(park_id=row["mentor_park_id"], driver_id=row["mentor_driver_id"])
        if row["mentor_park_id"] is not None
        else None
    )
    return MatchingChanged(
        matching_id=row["id"],
        from_=from_status,  # type: ignore[arg-type]
        to=to_status,  # type: ignore[arg-type]
        newbie=DriverRef(park_id=row["newbie_park_id"], driver_id=row["newbie_driver_id"]),
        mentor=mentor,
    )


async def record(
    conn: asyncpg.Connection, rows: Sequence[asyncpg.Record], from_status: str | None, to_status: str
) -> None:
    """`rows` (matchings as they are now) moved from `from_status` (or each row's own `from_status`
    column, when the update returned one) to `to_status`."""
    if not rows:
        return
    changes = []
    events = []
    for row in rows:
        source = row["from_status"] if "from_status" in row.keys() else from_status
        changes.append((row["id"], source, to_status))
        events.append(_event(row, source, to_status))
    await matchings_sql.insert_transitions(conn, changes)
    await publish_events_many(conn, MATCHING_CHANGED, events)
