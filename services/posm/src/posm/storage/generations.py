"""Generations (versions), their table snapshot and table -> S3 object map."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import asyncpg

GENERATION_COLUMNS = """
g.generation_id, g.place_id, g.template_id, g.version, g.status, g.author, g.comment, g.settings,
g.body_hash, g.created_at, g.updated_at
"""


async def next_version(conn: asyncpg.Connection, place_id: uuid.UUID, template_id: int) -> int:
    """Hands out the next version of (place, template); the row lock holds until the caller commits."""
    version: int = await conn.fetchval(
        """
        INSERT INTO generation_versions (place_id, template_id, last_version) VALUES ($1, $2, 1)
        ON CONFLICT (place_id, template_id) DO UPDATE
        SET last_version = generation_versions.last_version + 1
        RETURNING last_version
        """,
        place_id,
        template_id,
    )
    return version


async def insert_generation(
    conn: asyncpg.Connection,
    place_id: uuid.UUID,
    template_id: int,
    version: int,
    author: str,
    settings: dict[str, Any],
    idempotency_key: str,
    body_hash: str,
) -> asyncpg.Record | None:
    """None when the place already has a generation with this idempotency key (concurrent posts with
    one key wait here for the first one's commit)."""
    return await conn.fetchrow(
        f"""
        INSERT INTO generations AS g
            (place_id, template_id, version, status, author, settings, idempotency_key, body_hash)
        VALUES ($1, $2, $3, 'created', $4, $5::text::jsonb, $6, $7)
        ON CONFLICT (place_id, idempotency_key) DO NOTHING
        RETURNING {GENERATION_COLUMNS}
        """,
        place_id,
        template_id,
        version,
        author,
        json.dumps(settings),
        idempotency_key,
        body_hash,
    )


async def get_by_idempotency_key(
    conn: asyncpg.Connection, place_id: uuid.UUID, idempotency_key: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {GENERATION_COLUMNS} FROM generations g WHERE g.place_id = $1 AND g.idempotency_key = $2",
        place_id,
        idempotency_key,
    )


async def snapshot_tables(
    conn: asyncpg.Connection, generation_id: int, place_id: uuid.UUID, table_ids: list[uuid.UUID] | None
) -> int:
    """The generation's tables: the place's current ones (only `table_ids`, when given)."""
    status = await conn.execute(
        """
        INSERT INTO generation_tables (generation_id, table_id, label)
        SELECT $1, t.table_id, t.label FROM place_tables t
        WHERE t.place_id = $2 AND t.removed_at IS NULL
          AND ($3::uuid[] IS NULL OR t.table_id = ANY($3::uuid[]))
        """,
        generation_id,
        place_id,
        table_ids,
    )
    return int(status.rsplit(" ", 1)[1])


async def get_generation(
    conn: asyncpg.Connection, place_id: uuid.UUID, generation_id: int
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {GENERATION_COLUMNS} FROM generations g WHERE g.place_id = $1 AND g.generation_id = $2",
        place_id,
        generation_id,
    )


async def get_generation_by_id(conn: asyncpg.Connection, generation_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {GENERATION_COLUMNS} FROM generations g WHERE g.generation_id = $1", generation_id
    )


async def history(
    conn: asyncpg.Connection, place_id: uuid.UUID, template_id: int | None, before: int | None, limit: int
) -> list[asyncpg.Record]:
    """Newest first, with each generation's table count and rendered count (keyset by id)."""
    return await conn.fetch(
        f"""
        SELECT {GENERATION_COLUMNS},
               (SELECT count(*) FROM generation_tables t WHERE t.generation_id = g.generation_id) AS tables,
               (SELECT count(*) FROM generation_tables t
                WHERE t.generation_id = g.generation_id AND t.object_key IS NOT NULL) AS rendered
        FROM generations g
        WHERE g.place_id = $1 AND ($2::bigint IS NULL OR g.template_id = $2)
          AND ($3::bigint IS NULL OR g.generation_id < $3)
        ORDER BY g.generation_id DESC
        LIMIT $4
        """,
        place_id,
        template_id,
        before,
        limit,
    )


async def generation_tables(conn: asyncpg.Connection, generation_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT table_id, label, object_key FROM generation_tables WHERE generation_id = $1
        ORDER BY label, table_id
        """,
        generation_id,
    )


async def generation_table(
    conn: asyncpg.Connection, generation_id: int, table_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT table_id, label, object_key FROM generation_tables
        WHERE generation_id = $1 AND table_id = $2
        """,
        generation_id,
        table_id,
    )


async def compare_tables(
    conn: asyncpg.Connection, generation_id: int, place_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Tables only in the place now (`added`) or only in the generation (`removed`)."""
    return await conn.fetch(
        """
        SELECT coalesce(p.table_id, g.table_id) AS table_id, coalesce(p.label, g.label) AS label,
               CASE WHEN g.table_id IS NULL THEN 'added' ELSE 'removed' END AS change
        FROM (SELECT table_id, label FROM place_tables WHERE place_id = $2 AND removed_at IS NULL) p
        FULL JOIN (SELECT table_id, label FROM generation_tables WHERE generation_id = $1) g
            ON g.table_id = p.table_id
        WHERE p.table_id IS NULL OR g.table_id IS NULL
        ORDER BY 3, 2, 1
        """,
        generation_id,
        place_id,
    )


# -- the scheduler and the worker ---------------------------------------------------------------


async def schedule(conn: asyncpg.Connection, max_active: int) -> list[asyncpg.Record]:
    """Oldest `created` generations become `scheduled` while scheduled + in-progress stay under
    `max_active`. The caller holds the scheduler's advisory lock, so counts cannot race."""
    return await conn.fetch(
        f"""
        WITH picked AS (
            SELECT generation_id FROM generations
            WHERE status = 'created'
            ORDER BY generation_id
            LIMIT greatest($1 - (SELECT count(*) FROM generations
                                 WHERE status IN ('scheduled', 'in-progress')), 0)
            FOR UPDATE SKIP LOCKED
        )
        UPDATE generations g SET status = 'scheduled', updated_at = now()
        FROM picked WHERE g.generation_id = picked.generation_id
        RETURNING {GENERATION_COLUMNS}
        """,
        max_active,
    )


async def move(
    conn: asyncpg.Connection,
    generation_id: int,
    from_statuses: list[str],
    to: str,
    comment: str | None = None,
) -> asyncpg.Record | None:
    """Set the status if the generation is in one of `from_statuses`; None otherwise (a stale message)."""
    return await conn.fetchrow(
        f"""
        UPDATE generations g SET status = $3, comment = coalesce($4, g.comment), updated_at = now()
        WHERE g.generation_id = $1 AND g.status = ANY($2::text[])
        RETURNING {GENERATION_COLUMNS}
        """,
        generation_id,
        from_statuses,
        to,
        comment,
    )


async def lock_generation(conn: asyncpg.Connection, generation_id: int) -> asyncpg.Record | None:
    """Locks the row for the slice: a duplicate delivery waits, then sees the work already done."""
    return await conn.fetchrow(
        f"SELECT {GENERATION_COLUMNS} FROM generations g WHERE g.generation_id = $1 FOR UPDATE",
        generation_id,
    )


async def pending_tables(conn: asyncpg.Connection, generation_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT table_id, label FROM generation_tables
        WHERE generation_id = $1 AND object_key IS NULL
        ORDER BY table_id
        LIMIT $2
        """,
        generation_id,
        limit,
    )


async def record_objects(
    conn: asyncpg.Connection, generation_id: int, table_ids: list[uuid.UUID], object_keys: list[str]
) -> None:
    await conn.execute(
        """
        UPDATE generation_tables t SET object_key = o.object_key
        FROM unnest($2::uuid[], $3::text[]) AS o (table_id, object_key)
        WHERE t.generation_id = $1 AND t.table_id = o.table_id
        """,
        generation_id,
        table_ids,
        object_keys,
    )


async def any_pending(conn: asyncpg.Connection, generation_id: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM generation_tables WHERE generation_id = $1 AND object_key IS NULL)",
            generation_id,
        )
    )


async def record_failure(conn: asyncpg.Connection, generation_id: int, message: str) -> None:
    await conn.execute(
        "INSERT INTO generation_failures (generation_id, message) VALUES ($1, $2)", generation_id, message
    )


async def last_error(conn: asyncpg.Connection, generation_id: int) -> str | None:
    value: str | None = await conn.fetchval(
        """
        SELECT message FROM generation_failures WHERE generation_id = $1
        ORDER BY failed_at DESC LIMIT 1
        """,
        generation_id,
    )
    return value


# -- retention ----------------------------------------------------------------------------------


async def retention_candidates(
    conn: asyncpg.Connection, keep: int, keep_for: timedelta
) -> list[asyncpg.Record]:
    """Generations of the (place, template) pairs that may have something to remove: more than
    `keep` generations, or one older than `keep_for`."""
    return await conn.fetch(
        """
        SELECT g.generation_id, g.place_id, g.template_id, g.status, g.created_at
        FROM generations g
        JOIN (
            SELECT place_id, template_id FROM generations
            WHERE status <> 'deleted'
            GROUP BY place_id, template_id
            HAVING count(*) > $1 OR min(created_at) < now() - $2::interval
        ) pair USING (place_id, template_id)
        WHERE g.status <> 'deleted'
        """,
        keep,
        keep_for,
    )


async def mark_deleted(conn: asyncpg.Connection, generation_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""
        UPDATE generations g SET status = 'deleted', deleted_at = now(), updated_at = now()
        WHERE g.generation_id = ANY($1::bigint[]) AND g.status IN ('done', 'error')
        RETURNING {GENERATION_COLUMNS}
        """,
        generation_ids,
    )


async def object_keys(conn: asyncpg.Connection, generation_ids: list[int]) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT object_key FROM generation_tables
        WHERE generation_id = ANY($1::bigint[]) AND object_key IS NOT NULL
        """,
        generation_ids,
    )
    return [r["object_key"] for r in rows]
