"""Orders of a company: numbers are unique per company."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

_COLUMNS = """
    o.id, o.number, o.status, o.address, o.lat, o.lon,
    lower(o.time_window) AS window_start, upper(o.time_window) AS window_end,
    o.service_duration_s, o.route_id, o.sequence, o.planned_arrival
"""


async def orders_numbered(
    conn: asyncpg.Connection, company_id: int, numbers: Sequence[str]
) -> list[asyncpg.Record]:
    """The company's orders with one of these numbers."""
    return await conn.fetch(
        """
        SELECT o.id, o.number, o.status
        FROM orders o JOIN unnest($2::text[]) AS n(number) ON o.number = n.number
        WHERE o.company_id = $1
        """,
        company_id,
        numbers,
    )


async def suffixed_numbers(conn: asyncpg.Connection, company_id: int, bases: Sequence[str]) -> set[str]:
    """The company's order numbers of the form `{base}-N` for these bases (what a suffix must avoid)."""
    rows = await conn.fetch(
        """
        SELECT o.number
        FROM orders o JOIN unnest($2::text[]) AS n(base) ON regexp_replace(o.number, '-[0-9]+$', '') = n.base
        WHERE o.company_id = $1 AND o.number ~ '-[0-9]+$'
        """,
        company_id,
        bases,
    )
    return {row["number"] for row in rows}


async def insert_orders(
    conn: asyncpg.Connection,
    company_id: int,
    status: str,
    numbers: Sequence[str],
    addresses: Sequence[str],
    lats: Sequence[float],
    lons: Sequence[float],
    window_starts: Sequence[datetime | None],
    window_ends: Sequence[datetime | None],
    service_durations: Sequence[int],
    route_ids: Sequence[int],
    sequences: Sequence[int],
    planned_arrivals: Sequence[datetime],
) -> None:
    await conn.execute(
        """
        INSERT INTO orders (company_id, status, number, address, lat, lon, time_window,
                            service_duration_s, route_id, sequence, planned_arrival)
        SELECT $1, $2, o.number, o.address, o.lat, o.lon,
               CASE WHEN o.window_start IS NOT NULL THEN tstzrange(o.window_start, o.window_end, '[]') END,
               o.service_duration_s, o.route_id, o.sequence, o.planned_arrival
        FROM unnest($3::text[], $4::text[], $5::float8[], $6::float8[], $7::timestamptz[],
                    $8::timestamptz[], $9::int[], $10::bigint[], $11::int[], $12::timestamptz[])
            AS o(number, address, lat, lon, window_start, window_end, service_duration_s, route_id,
                 sequence, planned_arrival)
        """,
        company_id,
        status,
        numbers,
        addresses,
        lats,
        lons,
        window_starts,
        window_ends,
        service_durations,
        route_ids,
        sequences,
        planned_arrivals,
    )


async def move_orders(
    conn: asyncpg.Connection,
    company_id: int,
    order_ids: Sequence[int],
    addresses: Sequence[str],
    lats: Sequence[float],
    lons: Sequence[float],
    window_starts: Sequence[datetime | None],
    window_ends: Sequence[datetime | None],
    service_durations: Sequence[int],
    route_ids: Sequence[int],
    sequences: Sequence[int],
    planned_arrivals: Sequence[datetime],
) -> None:
    """Update existing orders from the solution and put them on their new routes (status kept)."""
    await conn.execute(
        """
        UPDATE orders AS o
        SET address = m.address, lat = m.lat, lon = m.lon,
            time_window = CASE WHEN m.window_start IS NOT NULL
                               THEN tstzrange(m.window_start, m.window_end, '[]') END,
            service_duration_s = m.service_duration_s, route_id = m.route_id, sequence = m.sequence,
            planned_arrival = m.planned_arrival, updated_at = now()
        FROM unnest($2::bigint[], $3::text[], $4::float8[], $5::float8[], $6::timestamptz[],
                    $7::timestamptz[], $8::int[], $9::bigint[], $10::int[], $11::timestamptz[])
            AS m(id, address, lat, lon, window_start, window_end, service_duration_s, route_id, sequence,
                 planned_arrival)
        WHERE o.id = m.id AND o.company_id = $1
        """,
        company_id,
        order_ids,
        addresses,
        lats,
        lons,
        window_starts,
        window_ends,
        service_durations,
        route_ids,
        sequences,
        planned_arrivals,
    )


async def route_orders(conn: asyncpg.Connection, route_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM orders o WHERE o.route_id = $1 ORDER BY o.sequence, o.id", route_id
    )


async def find_orders(
    conn: asyncpg.Connection, company_id: int, number: str | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM orders o
        WHERE o.company_id = $1 AND ($2::text IS NULL OR o.number = $2)
        ORDER BY o.number
        LIMIT $3 OFFSET $4
        """,
        company_id,
        number,
        limit,
        offset,
    )


async def get_order(conn: asyncpg.Connection, company_id: int, order_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM orders o WHERE o.company_id = $1 AND o.id = $2 FOR UPDATE",
        company_id,
        order_id,
    )


async def set_status(conn: asyncpg.Connection, order_id: int, status: str) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""
        UPDATE orders AS o SET status = $2, updated_at = now() WHERE o.id = $1
        RETURNING {_COLUMNS}
        """,
        order_id,
        status,
    )
