"""SQL of the import watermarks (how far each CRM import has read)."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def get(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> datetime | None:
    value = await conn.fetchval("SELECT watermark FROM import_watermarks WHERE name = $1", name)
    return value if isinstance(value, datetime) else None


async def advance(conn: asyncpg.Connection, name: str, watermark: datetime) -> None:
    """Move the watermark forward (never back)."""
    await conn.execute(
        """
        INSERT INTO import_watermarks (name, watermark) VALUES ($1, $2)
        ON CONFLICT (name) DO UPDATE
        SET watermark = greatest(import_watermarks.watermark, EXCLUDED.watermark), updated_at = now()
        """,
        name,
        watermark,
    )
