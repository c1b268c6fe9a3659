"""Imports: their request, status and result (the routes they created)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

_COLUMNS = """
    id, company_id, task_id, original_task_id, order_status, route_conflict_mode, order_conflict_mode,
    status, message, details, orders_created, orders_renamed, orders_moved, body_hash
"""


async def insert_import(
    conn: asyncpg.Connection,
    import_id: UUID,
    company_id: int,
    task_id: str,
    original_task_id: str | None,
    order_status: str,
    route_conflict_mode: str,
    order_conflict_mode: str,
    message: str,
    idempotency_key: str | None,
    body_hash: str,
    created_by: str,
) -> bool:
    """False when the company already has an import with this idempotency key."""
    inserted = await conn.fetchval(
        """
        INSERT INTO imports (id, company_id, task_id, original_task_id, order_status, route_conflict_mode,
                             order_conflict_mode, message, idempotency_key, body_hash, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (company_id, idempotency_key) DO NOTHING
        RETURNING true
        """,
        import_id,
        company_id,
        task_id,
        original_task_id,
        order_status,
        route_conflict_mode,
        order_conflict_mode,
        message,
        idempotency_key,
        body_hash,
        created_by,
    )
    return bool(inserted)


async def import_by_key(
    conn: asyncpg.Connection, company_id: int, idempotency_key: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM imports WHERE company_id = $1 AND idempotency_key = $2",
        company_id,
        idempotency_key,
    )


async def get_import(conn: asyncpg.Connection, company_id: int, import_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM imports WHERE company_id = $1 AND id = $2", company_id, import_id
    )


async def lock_import(conn: asyncpg.Connection, import_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM imports WHERE id = $1 FOR UPDATE", import_id)


async def finish_import(
    conn: asyncpg.Connection,
    import_id: UUID,
    status: str,
    message: str,
    details: Any = None,
    created: int = 0,
    renamed: int = 0,
    moved: int = 0,
) -> None:
    await conn.execute(
        """
        UPDATE imports
        SET status = $2, message = $3, details = $4::text::jsonb, orders_created = $5, orders_renamed = $6,
            orders_moved = $7, finished_at = now()
        WHERE id = $1
        """,
        import_id,
        status,
        message,
        None if details is None else json.dumps(details),
        created,
        renamed,
        moved,
    )


async def insert_import_routes(
    conn: asyncpg.Connection, import_id: UUID, route_ids: Sequence[int], numbers: Sequence[str]
) -> None:
    await conn.execute(
        """
        INSERT INTO import_routes (import_id, position, route_id, number)
        SELECT $1, r.position, r.route_id, r.number
        FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS r(route_id, number, position)
        """,
        import_id,
        route_ids,
        numbers,
    )


async def import_routes(
    conn: asyncpg.Connection, import_id: UUID, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT route_id, number FROM import_routes WHERE import_id = $1
        ORDER BY position LIMIT $2 OFFSET $3
        """,
        import_id,
        limit,
        offset,
    )


async def count_import_routes(conn: asyncpg.Connection, import_id: UUID) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM import_routes WHERE import_id = $1", import_id))


async def company_imports(
    conn: asyncpg.Connection, company_id: int, limit: int, offset: int
) -> list[asyncpg.Record]:
    """The company's imports, newest first."""
    return await conn.fetch(
        f"""
        SELECT {_COLUMNS}, created_by, created_at, finished_at FROM imports WHERE company_id = $1
        ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
        """,
        company_id,
        limit,
        offset,
    )
