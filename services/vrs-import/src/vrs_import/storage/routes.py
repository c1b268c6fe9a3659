"""Routes of a company. A route has started once any of its orders is started or finished."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg


async def routes_on_dates(
    conn: asyncpg.Connection, company_id: int, dates: Sequence[date]
) -> list[asyncpg.Record]:
    """Every route of the company on those dates, with whether it has started."""
    return await conn.fetch(
        """
        SELECT r.id, r.number, r.date,
               EXISTS (SELECT 1 FROM orders o
                       WHERE o.route_id = r.id AND o.status IN ('started', 'finished')) AS started
        FROM routes r
        WHERE r.company_id = $1 AND r.date = ANY($2::date[])
        """,
        company_id,
        dates,
    )


async def delete_routes(conn: asyncpg.Connection, route_ids: Sequence[int]) -> None:
    """Delete routes; their orders stay, unassigned."""
    await conn.execute(
        """
        UPDATE orders SET route_id = NULL, sequence = NULL, planned_arrival = NULL, updated_at = now()
        WHERE route_id = ANY($1::bigint[])
        """,
        route_ids,
    )
    await conn.execute("DELETE FROM routes WHERE id = ANY($1::bigint[])", route_ids)


async def insert_routes(
    conn: asyncpg.Connection,
    company_id: int,
    import_id: UUID,
    numbers: Sequence[str],
    dates: Sequence[date],
    vehicles: Sequence[str],
    run_numbers: Sequence[int],
    depot_ids: Sequence[int | None],
) -> dict[tuple[date, str], int]:
    """Insert the routes; their ids by (date, number)."""
    rows = await conn.fetch(
        """
        INSERT INTO routes (company_id, import_id, number, date, vehicle, run_number, depot_id)
        SELECT $1, $2, r.number, r.date, r.vehicle, r.run_number, r.depot_id
        FROM unnest($3::text[], $4::date[], $5::text[], $6::int[], $7::bigint[])
            AS r(number, date, vehicle, run_number, depot_id)
        RETURNING id, number, date
        """,
        company_id,
        import_id,
        numbers,
        dates,
        vehicles,
        run_numbers,
        depot_ids,
    )
    return {(row["date"], row["number"]): row["id"] for row in rows}


async def list_routes(
    conn: asyncpg.Connection, company_id: int, day: date, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT r.id, r.number, r.date, r.vehicle, r.run_number, d.number AS depot,
               count(o.id) AS orders,
               coalesce(bool_or(o.status IN ('started', 'finished')), false) AS started
        FROM routes r
        LEFT JOIN depots d ON d.id = r.depot_id
        LEFT JOIN orders o ON o.route_id = r.id
        WHERE r.company_id = $1 AND r.date = $2
        GROUP BY r.id, d.number
        ORDER BY r.number, r.id
        LIMIT $3 OFFSET $4
        """,
        company_id,
        day,
        limit,
        offset,
    )


async def get_route(conn: asyncpg.Connection, company_id: int, route_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT r.id, r.number, r.date, r.vehicle, r.run_number, d.number AS depot,
               EXISTS (SELECT 1 FROM orders o
                       WHERE o.route_id = r.id AND o.status IN ('started', 'finished')) AS started
        FROM routes r LEFT JOIN depots d ON d.id = r.depot_id
        WHERE r.company_id = $1 AND r.id = $2
        """,
        company_id,
        route_id,
    )
