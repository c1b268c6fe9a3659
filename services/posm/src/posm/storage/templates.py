"""Templates and their visibility links (places for `restaurant`, brands for `brand`)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

_COLUMNS = """
t.template_id, t.name, t.description, t.template_link, t.page_sizes, t.settings, t.visibility,
t.created_at, t.updated_at, t.deleted_at,
ARRAY(SELECT p.place_id FROM template_places p WHERE p.template_id = t.template_id ORDER BY p.place_id)
    AS place_ids,
ARRAY(SELECT b.brand_id FROM template_brands b WHERE b.template_id = t.template_id ORDER BY b.brand_id)
    AS brand_ids
"""


async def insert_template(
    conn: asyncpg.Connection,
    name: str,
    description: str | None,
    template_link: str,
    page_sizes: list[tuple[float, float]],
    settings: dict[str, Any],
    visibility: str,
) -> int:
    template_id: int = await conn.fetchval(
        """
        INSERT INTO templates (name, description, template_link, page_sizes, settings, visibility)
        VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6) RETURNING template_id
        """,
        name,
        description,
        template_link,
        json.dumps(page_sizes),
        json.dumps(settings),
        visibility,
    )
    return template_id


async def update_template(
    conn: asyncpg.Connection,
    template_id: int,
    name: str,
    description: str | None,
    template_link: str,
    page_sizes: list[tuple[float, float]],
    settings: dict[str, Any],
    visibility: str,
) -> None:
    await conn.execute(
        """
        UPDATE templates
        SET name = $2, description = $3, template_link = $4, page_sizes = $5::text::jsonb,
            settings = $6::text::jsonb, visibility = $7, updated_at = now()
        WHERE template_id = $1
        """,
        template_id,
        name,
        description,
        template_link,
        json.dumps(page_sizes),
        json.dumps(settings),
        visibility,
    )


async def set_links(
    conn: asyncpg.Connection, template_id: int, place_ids: list[uuid.UUID], brand_ids: list[uuid.UUID]
) -> None:
    await conn.execute("DELETE FROM template_places WHERE template_id = $1", template_id)
    await conn.execute("DELETE FROM template_brands WHERE template_id = $1", template_id)
    await conn.execute(
        "INSERT INTO template_places (template_id, place_id) SELECT $1, unnest($2::uuid[])",
        template_id,
        place_ids,
    )
    await conn.execute(
        "INSERT INTO template_brands (template_id, brand_id) SELECT $1, unnest($2::uuid[])",
        template_id,
        brand_ids,
    )


async def get_template(
    conn: asyncpg.Connection, template_id: int, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = "FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM templates t WHERE t.template_id = $1 AND t.deleted_at IS NULL {lock}",
        template_id,
    )


async def get_any_template(conn: asyncpg.Connection, template_id: int) -> asyncpg.Record | None:
    """Deleted ones too (a generation renders with the template it was made for)."""
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM templates t WHERE t.template_id = $1", template_id)


async def list_templates(
    conn: asyncpg.Connection, place_id: uuid.UUID | None, brand_id: uuid.UUID | None, limit: int
) -> list[asyncpg.Record]:
    """Every live template, or (with `place_id`) those the place may use: global + its own + its brand's."""
    return await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM templates t
        WHERE t.deleted_at IS NULL
          AND ($1::uuid IS NULL
               OR t.visibility = 'global'
               OR (t.visibility = 'restaurant' AND EXISTS (
                       SELECT 1 FROM template_places p
                       WHERE p.template_id = t.template_id AND p.place_id = $1))
               OR (t.visibility = 'brand' AND EXISTS (
                       SELECT 1 FROM template_brands b
                       WHERE b.template_id = t.template_id AND b.brand_id = $2)))
        ORDER BY t.template_id
        LIMIT $3
        """,
        place_id,
        brand_id,
        limit,
    )


async def soft_delete(conn: asyncpg.Connection, template_id: int) -> bool:
    status = await conn.execute(
        """
        UPDATE templates SET deleted_at = now(), updated_at = now()
        WHERE template_id = $1 AND deleted_at IS NULL
        """,
        template_id,
    )
    return bool(status.endswith(" 1"))
