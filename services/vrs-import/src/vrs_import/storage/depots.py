"""Depots of a company, found by number (the solver's depot ref, else its id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg


async def upsert_depots(
    conn: asyncpg.Connection,
    company_id: int,
    numbers: Sequence[str],
    lats: Sequence[float],
    lons: Sequence[float],
    window_starts: Sequence[datetime | None],
    window_ends: Sequence[datetime | None],
) -> dict[str, int]:
    """Create the depots that are new, refresh the others; their ids by number."""
    rows = await conn.fetch(
        """
        INSERT INTO depots (company_id, number, lat, lon, time_window)
        SELECT $1, d.number, d.lat, d.lon,
               CASE WHEN d.window_start IS NOT NULL THEN tstzrange(d.window_start, d.window_end, '[]') END
        FROM unnest($2::text[], $3::float8[], $4::float8[], $5::timestamptz[], $6::timestamptz[])
            AS d(number, lat, lon, window_start, window_end)
        ON CONFLICT (company_id, number) DO UPDATE
        SET lat = EXCLUDED.lat, lon = EXCLUDED.lon, time_window = EXCLUDED.time_window
        RETURNING id, number
        """,
        company_id,
        numbers,
        lats,
        lons,
        window_starts,
        window_ends,
    )
    return {row["number"]: row["id"] for row in rows}
