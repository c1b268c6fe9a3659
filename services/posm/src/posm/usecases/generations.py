"""Generations on the api side: request one (idempotently), read history and detail, check tables."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import ValidationError

from posm.domain import rules
from posm.domain.errors import (
    GenerationNotFound,
    IdempotencyKeyReused,
    InvalidSettings,
    NothingToGenerate,
    PlaceNotFound,
    TemplateNotAllowed,
)
from posm.domain.settings import TemplateSettings, check_fits, merge
from posm.storage import generations as generations_sql
from posm.storage import places as places_sql
from posm.storage import templates as templates_sql
from quintet_contracts.posm import GENERATION_STATUS_CHANGED, GenerationStatusChanged
from quintet_messaging import publish_event


def status_event(row: asyncpg.Record) -> GenerationStatusChanged:
    return GenerationStatusChanged(
        generation_id=row["generation_id"],
        place_id=row["place_id"],
        template_id=row["template_id"],
        version=row["version"],
        status=row["status"],
        comment=row["comment"],
        at=row["updated_at"] if row["updated_at"] is not None else datetime.now(UTC),
    )


@dataclass(frozen=True)
class GenerationOrder:
    template_id: int
    settings: dict[str, Any] | None
    table_ids: list[uuid.UUID] | None

    def digest(self) -> str:
        return rules.body_hash(
            {
                "template_id": self.template_id,
                "settings": self.settings,
                "table_ids": sorted(str(t) for t in self.table_ids) if self.table_ids is not None else None,
            }
        )


class _KeyTaken(Exception):
    """Another request with this idempotency key committed first: roll back ours."""


def settings_for(recommended: dict[str, Any], override: dict[str, Any] | None) -> TemplateSettings:
    try:
        return TemplateSettings.model_validate(merge(recommended, override))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(["settings", *(str(p) for p in error["loc"])])
        raise InvalidSettings(field, error["msg"]) from exc


async def request_generation(
    pool: asyncpg.Pool, place_id: uuid.UUID, idempotency_key: str, order: GenerationOrder, author: str
) -> tuple[asyncpg.Record, bool]:
    """(the generation, whether this call created it). The same key with the same body is the same
    generation; with another body it is refused."""
    digest = order.digest()
    async with pool.acquire() as conn:
        existing = await generations_sql.get_by_idempotency_key(conn, place_id, idempotency_key)
        if existing is not None:
            return _replay(existing, digest), False
        try:
            async with conn.transaction():
                row = await _create(conn, place_id, idempotency_key, order, digest, author)
        except _KeyTaken:
            existing = await generations_sql.get_by_idempotency_key(conn, place_id, idempotency_key)
            assert existing is not None
            return _replay(existing, digest), False
    return row, True


def _replay(existing: asyncpg.Record, digest: str) -> asyncpg.Record:
    if existing["body_hash"] != digest:
        raise IdempotencyKeyReused()
    return existing


async def _create(
    conn: asyncpg.Connection,
    place_id: uuid.UUID,
    idempotency_key: str,
    order: GenerationOrder,
    digest: str,
    author: str,
) -> asyncpg.Record:
    place = await places_sql.lock_place(conn, place_id)
    if place is None:
        raise PlaceNotFound(place_id)
    template = await templates_sql.get_template(conn, order.template_id)
    if template is None or not rules.template_visible(
        template["visibility"], template["place_ids"], template["brand_ids"], place_id, place["brand_id"]
    ):
        raise TemplateNotAllowed(order.template_id)
    settings = settings_for(template["settings"], order.settings)
    check_fits(settings, [tuple(size) for size in template["page_sizes"]])  # type: ignore[misc]
    version = await generations_sql.next_version(conn, place_id, order.template_id)
    row = await generations_sql.insert_generation(
        conn,
        place_id,
        order.template_id,
        version,
        author,
        settings.model_dump(mode="json"),
        idempotency_key,
        digest,
    )
    if row is None:
        raise _KeyTaken()
    count = await generations_sql.snapshot_tables(conn, row["generation_id"], place_id, order.table_ids)
    if count == 0:
        raise NothingToGenerate("the place has no tables to generate for")
    if order.table_ids is not None and count != len(set(order.table_ids)):
        tables = await generations_sql.generation_tables(conn, row["generation_id"])
        unknown = sorted({str(t) for t in order.table_ids} - {str(t["table_id"]) for t in tables})
        raise NothingToGenerate("some table_ids are not current tables of the place", {"table_ids": unknown})
    await publish_event(conn, GENERATION_STATUS_CHANGED, status_event(row))
    return row


async def history(
    pool: asyncpg.Pool, place_id: uuid.UUID, template_id: int | None, before: int | None, limit: int
) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await generations_sql.history(conn, place_id, template_id, before, limit)


@dataclass(frozen=True)
class GenerationWithTables:
    generation: asyncpg.Record
    tables: list[asyncpg.Record]


async def detail(pool: asyncpg.Pool, place_id: uuid.UUID, generation_id: int) -> GenerationWithTables:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        row = await generations_sql.get_generation(conn, place_id, generation_id)
        if row is None:
            raise GenerationNotFound(generation_id)
        return GenerationWithTables(row, await generations_sql.generation_tables(conn, generation_id))


async def check(pool: asyncpg.Pool, place_id: uuid.UUID, generation_id: int) -> list[asyncpg.Record]:
    """The tables that differ between the generation and the place now (`change`: added | removed)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        if await generations_sql.get_generation(conn, place_id, generation_id) is None:
            raise GenerationNotFound(generation_id)
        return await generations_sql.compare_tables(conn, generation_id, place_id)
