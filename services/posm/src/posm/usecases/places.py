"""Places and their tables, kept in sync by the restaurant service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from posm.domain.errors import PlaceNotFound, TableOfAnotherPlace
from posm.storage import places as places_sql


@dataclass(frozen=True)
class PlaceWithTables:
    place: asyncpg.Record
    tables: list[asyncpg.Record]


async def put_place(
    pool: asyncpg.Pool,
    place_id: uuid.UUID,
    name: str,
    brand_id: uuid.UUID | None,
    tables: list[tuple[uuid.UUID, str]],
) -> PlaceWithTables:
    table_ids = [table_id for table_id, _ in tables]
    async with pool.acquire() as conn, conn.transaction():
        taken = await places_sql.tables_of_other_places(conn, place_id, table_ids)
        if taken:
            raise TableOfAnotherPlace(sorted(str(t) for t in taken))
        await places_sql.upsert_place(conn, place_id, name, brand_id)
        await places_sql.sync_tables(conn, place_id, table_ids, [label for _, label in tables])
        return await _read(conn, place_id)


async def get_place(pool: asyncpg.Pool, place_id: uuid.UUID) -> PlaceWithTables:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return await _read(conn, place_id)


async def _read(conn: asyncpg.Connection, place_id: uuid.UUID) -> PlaceWithTables:
    place = await places_sql.get_place(conn, place_id)
    if place is None:
        raise PlaceNotFound(place_id)
    return PlaceWithTables(place, await places_sql.current_tables(conn, place_id))
