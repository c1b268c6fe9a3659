"""Places and their tables (a table that leaves keeps its row, with removed_at)."""

from __future__ import annotations

import uuid

import asyncpg


async def upsert_place(
    conn: asyncpg.Connection, place_id: uuid.UUID, name: str, brand_id: uuid.UUID | None
) -> None:
    await conn.execute(
        """
        INSERT INTO places (place_id, name, brand_id) VALUES ($1, $2, $3)
        ON CONFLICT (place_id) DO UPDATE SET name = $2, brand_id = $3, updated_at = now()
        """,
        place_id,
        name,
        brand_id,
    )


async def tables_of_other_places(
    conn: asyncpg.Connection, place_id: uuid.UUID, table_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """
        SELECT DISTINCT table_id FROM place_tables
        WHERE table_id = ANY($2::uuid[]) AND place_id <> $1 AND removed_at IS NULL
        """,
        place_id,
        table_ids,
    )
    return [r["table_id"] for r in rows]


async def sync_tables(
    conn: asyncpg.Connection, place_id: uuid.UUID, table_ids: list[uuid.UUID], labels: list[str]
) -> None:
    """The place's current tables become exactly these: missing ones are marked removed, new or
    returning ones (re)added, labels updated. Two set-based statements whatever the count."""
    await conn.execute(
        """
        UPDATE place_tables SET removed_at = now()
        WHERE place_id = $1 AND removed_at IS NULL AND NOT (table_id = ANY($2::uuid[]))
        """,
        place_id,
        table_ids,
    )
    await conn.execute(
        """
        INSERT INTO place_tables (place_id, table_id, label)
        SELECT $1, t.table_id, t.label FROM unnest($2::uuid[], $3::text[]) AS t (table_id, label)
        ON CONFLICT (place_id, table_id) DO UPDATE
        SET label = EXCLUDED.label,
            removed_at = NULL,
            added_at = CASE WHEN place_tables.removed_at IS NULL THEN place_tables.added_at ELSE now() END
        """,
        place_id,
        table_ids,
        labels,
    )


async def get_place(conn: asyncpg.Connection, place_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT place_id, name, brand_id, updated_at FROM places WHERE place_id = $1", place_id
    )


async def lock_place(conn: asyncpg.Connection, place_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT place_id, name, brand_id FROM places WHERE place_id = $1 FOR SHARE", place_id
    )


async def current_tables(conn: asyncpg.Connection, place_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT table_id, label FROM place_tables WHERE place_id = $1 AND removed_at IS NULL
        ORDER BY label, table_id
        """,
        place_id,
    )
