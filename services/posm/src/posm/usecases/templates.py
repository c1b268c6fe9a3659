"""Templates: the PDF in S3, the recommended settings and who may use it."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from posm import rendering
from posm.domain.errors import (
    InvalidInput,
    InvalidTemplateFile,
    TemplateFileMissing,
    TemplateNotFound,
    TemplatePageMissing,
)
from posm.domain.settings import TemplateSettings, check_fits
from posm.storage import templates as templates_sql
from quintet_s3 import ObjectNotFound, ObjectStore


@dataclass(frozen=True)
class TemplateFields:
    name: str
    description: str | None
    settings: TemplateSettings
    visibility: str
    place_ids: list[uuid.UUID]
    brand_ids: list[uuid.UUID]


def check_links(visibility: str, place_ids: list[uuid.UUID], brand_ids: list[uuid.UUID]) -> None:
    if visibility == "global" and (place_ids or brand_ids):
        raise InvalidInput("place_ids", "a global template takes no place_ids or brand_ids")
    if visibility == "restaurant" and (not place_ids or brand_ids):
        raise InvalidInput("place_ids", "a restaurant template needs place_ids (and no brand_ids)")
    if visibility == "brand" and (not brand_ids or place_ids):
        raise InvalidInput("brand_ids", "a brand template needs brand_ids (and no place_ids)")


async def read_page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    # MuPDF parses a 20 MB file for a while: off the event loop.
    try:
        return await asyncio.to_thread(rendering.page_sizes, pdf)
    except ValueError as exc:
        raise InvalidTemplateFile("file", "is not a readable PDF") from exc


def new_template_key() -> str:
    """Every uploaded file gets its own key: a replaced file stays for the generations made with it."""
    return f"templates/{uuid.uuid4().hex}.pdf"


async def create_template(
    pool: asyncpg.Pool, store: ObjectStore, bucket: str, pdf: bytes, fields: TemplateFields
) -> asyncpg.Record:
    check_links(fields.visibility, fields.place_ids, fields.brand_ids)
    sizes = await read_page_sizes(pdf)
    check_fits(fields.settings, sizes)
    key = new_template_key()
    async with pool.acquire() as conn, conn.transaction():
        template_id = await templates_sql.insert_template(
            conn,
            fields.name,
            fields.description,
            key,
            sizes,
            fields.settings.model_dump(mode="json"),
            fields.visibility,
        )
        await templates_sql.set_links(conn, template_id, fields.place_ids, fields.brand_ids)
        # Uploaded inside the transaction: a failed upload leaves no row; a failed commit leaves an
        # unreferenced object, which is harmless.
        await store.put(bucket, key, pdf, "application/pdf")
        row = await templates_sql.get_template(conn, template_id)
    assert row is not None
    return row


async def update_template(
    pool: asyncpg.Pool,
    store: ObjectStore,
    bucket: str,
    template_id: int,
    pdf: bytes | None,
    changes: dict[str, Any],
) -> asyncpg.Record:
    """Apply the given fields (and a new file, if any). Generations keep the file they were made
    with: a new file gets a new key, the old object stays."""
    sizes = await read_page_sizes(pdf) if pdf is not None else None
    async with pool.acquire() as conn, conn.transaction():
        current = await templates_sql.get_template(conn, template_id, for_update=True)
        if current is None:
            raise TemplateNotFound(template_id)
        settings = changes.get("settings") or TemplateSettings.model_validate(current["settings"])
        page_sizes = sizes if sizes is not None else [tuple(s) for s in current["page_sizes"]]
        visibility = changes.get("visibility") or current["visibility"]
        place_ids = (
            changes["place_ids"] if changes.get("place_ids") is not None else list(current["place_ids"])
        )
        brand_ids = (
            changes["brand_ids"] if changes.get("brand_ids") is not None else list(current["brand_ids"])
        )
        if changes.get("visibility") and changes["visibility"] != current["visibility"]:
            # A new visibility drops the links that do not belong to it unless new ones are given.
            place_ids = changes.get("place_ids") or ([] if visibility != "restaurant" else place_ids)
            brand_ids = changes.get("brand_ids") or ([] if visibility != "brand" else brand_ids)
        check_links(visibility, place_ids, brand_ids)
        check_fits(settings, page_sizes)  # type: ignore[arg-type]
        key = current["template_link"]
        if pdf is not None:
            key = new_template_key()
            await store.put(bucket, key, pdf, "application/pdf")
        await templates_sql.update_template(
            conn,
            template_id,
            changes.get("name") or current["name"],
            changes["description"] if "description" in changes else current["description"],
            key,
            page_sizes,  # type: ignore[arg-type]
            settings.model_dump(mode="json"),
            visibility,
        )
        await templates_sql.set_links(conn, template_id, place_ids, brand_ids)
        row = await templates_sql.get_template(conn, template_id)
    assert row is not None
    return row


async def get_template(pool: asyncpg.Pool, template_id: int) -> asyncpg.Record:
    async with pool.acquire() as conn:
        row = await templates_sql.get_template(conn, template_id)
    if row is None:
        raise TemplateNotFound(template_id)
    return row


async def template_page_png(
    pool: asyncpg.Pool, store: ObjectStore, bucket: str, template_id: int, page: int, width: int
) -> bytes:
    """A picture of the template's page (deleted templates too: their generations still use them)."""
    async with pool.acquire() as conn:
        row = await templates_sql.get_any_template(conn, template_id)
    if row is None:
        raise TemplateNotFound(template_id)
    try:
        pdf = await store.get(bucket, row["template_link"])
    except ObjectNotFound as exc:
        raise TemplateFileMissing(template_id) from exc
    try:
        return await asyncio.to_thread(rendering.page_png, pdf, page, width)
    except ValueError as exc:
        raise TemplatePageMissing(template_id, page) from exc


async def list_templates(
    pool: asyncpg.Pool, place_id: uuid.UUID | None, limit: int = 1000
) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        brand_id = None
        if place_id is not None:
            brand_id = await conn.fetchval("SELECT brand_id FROM places WHERE place_id = $1", place_id)
        return await templates_sql.list_templates(conn, place_id, brand_id, limit)


async def delete_template(pool: asyncpg.Pool, template_id: int) -> None:
    """Soft: existing generations keep rendering and downloading with it; new ones cannot use it."""
    async with pool.acquire() as conn:
        if not await templates_sql.soft_delete(conn, template_id):
            raise TemplateNotFound(template_id)
