"""Generations on the worker side: the scheduler, rendering in slices, giving up, retention."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from posm import rendering
from posm.domain import rules
from posm.domain.errors import RenderFailed
from posm.domain.settings import TemplateSettings
from posm.storage import generations as generations_sql
from posm.storage import templates as templates_sql
from posm.usecases.generations import status_event
from quintet_contracts.posm import GENERATION_STATUS_CHANGED, POSM_REQUESTED, PosmRequested
from quintet_messaging import publish_event, publish_events_many
from quintet_s3 import ObjectNotFound, ObjectStore

log = structlog.get_logger("posm.production")

SCHEDULER_LOCK = "posm.scheduler"
RENDER_CHUNK = 25  # tables per call into the rendering pool: amortises pickling the template


async def schedule_generations(pool: asyncpg.Pool, max_active: int) -> int:
    """Move the oldest `created` generations to `scheduled` under the concurrency limit and ask the
    worker to render them (through the outbox, with their status events)."""
    async with pool.acquire() as conn, conn.transaction():
        # One scheduler at a time, even if a slow run overlaps the next period.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", SCHEDULER_LOCK)
        rows = await generations_sql.schedule(conn, max_active)
        if rows:
            await publish_events_many(
                conn, POSM_REQUESTED, [PosmRequested(generation_id=r["generation_id"]) for r in rows]
            )
            await publish_events_many(conn, GENERATION_STATUS_CHANGED, [status_event(r) for r in rows])
    return len(rows)


@dataclass(frozen=True)
class Renderer:
    """What rendering needs besides the database: storage, the process pool and the settings."""

    store: ObjectStore
    bucket: str
    executor: Executor
    url_template: str
    slice_size: int
    upload_concurrency: int


def object_key(place_id: uuid.UUID, generation_id: int, table_id: uuid.UUID) -> str:
    return f"posm/{place_id}/{generation_id}/{table_id}.pdf"


async def start_generation(pool: asyncpg.Pool, generation_id: int) -> None:
    """`scheduled` -> `in-progress`, committed at once so clients see it while the slices run."""
    async with pool.acquire() as conn, conn.transaction():
        row = await generations_sql.move(conn, generation_id, ["scheduled"], "in-progress")
        if row is not None:
            await publish_event(conn, GENERATION_STATUS_CHANGED, status_event(row))


async def render_slice(conn: asyncpg.Connection, renderer: Renderer, generation_id: int) -> None:
    """Render up to one slice of the generation's remaining tables into S3 and record them; then ask
    for the next slice, or set `done`. Runs in the delivery's transaction: a failure records
    nothing, and a re-run (a retry, a redelivery) renders only what is still missing."""
    generation = await generations_sql.lock_generation(conn, generation_id)
    if generation is None or generation["status"] != "in-progress":
        return  # finished, given up or deleted already: a stale delivery
    template = await templates_sql.get_any_template(conn, generation["template_id"])
    if template is None:
        raise RenderFailed("the generation's template no longer exists")
    try:
        template_pdf = await renderer.store.get(renderer.bucket, template["template_link"])
    except ObjectNotFound as exc:
        raise RenderFailed("the template's PDF is missing from storage") from exc
    tables = await generations_sql.pending_tables(conn, generation_id, renderer.slice_size)
    settings = generation["settings"]
    keys = await _render_and_upload(renderer, generation, template_pdf, settings, tables)
    await generations_sql.record_objects(conn, generation_id, [t["table_id"] for t in tables], keys)
    if await generations_sql.any_pending(conn, generation_id):
        await publish_event(conn, POSM_REQUESTED, PosmRequested(generation_id=generation_id))
        return
    done = await generations_sql.move(conn, generation_id, ["in-progress"], "done")
    assert done is not None
    await publish_event(conn, GENERATION_STATUS_CHANGED, status_event(done))
    log.info("generation done", generation_id=generation_id)


async def _render_and_upload(
    renderer: Renderer,
    generation: asyncpg.Record,
    template_pdf: bytes,
    settings: dict[str, Any],
    tables: Sequence[asyncpg.Record],
) -> list[str]:
    loop = asyncio.get_running_loop()
    pairs = [(str(t["table_id"]), t["label"]) for t in tables]
    parsed = TemplateSettings.model_validate(settings)
    characters = "".join(sorted(set("".join(rendering.labels(parsed, pairs)))))
    try:
        font = await loop.run_in_executor(renderer.executor, rendering.label_font, characters)
        sizes = await loop.run_in_executor(renderer.executor, rendering.page_sizes, template_pdf)
    except ValueError as exc:
        raise RenderFailed("the template's PDF cannot be read") from exc
    if parsed.page > len(sizes):
        raise RenderFailed(f"the template has no page {parsed.page}")
    uploads = asyncio.Semaphore(renderer.upload_concurrency)
    keys = [object_key(generation["place_id"], generation["generation_id"], t["table_id"]) for t in tables]

    async def upload(key: str, pdf: bytes) -> None:
        async with uploads:
            await renderer.store.put(renderer.bucket, key, pdf, "application/pdf")

    async def chunk(start: int) -> None:
        part = pairs[start : start + RENDER_CHUNK]
        pdfs = await loop.run_in_executor(
            renderer.executor,
            rendering.render_posms,
            template_pdf,
            settings,
            part,
            renderer.url_template,
            font,
        )
        await asyncio.gather(*(upload(keys[start + i], pdf) for i, pdf in enumerate(pdfs)))

    # Every chunk is submitted at once: the pool renders as fast as it has processes, and each
    # chunk's uploads overlap the rendering of the next ones.
    await asyncio.gather(*(chunk(start) for start in range(0, len(pairs), RENDER_CHUNK)))
    return keys


def failure_message(exc: BaseException) -> str:
    """What clients may read about a failed attempt: our own messages, never exception text."""
    if isinstance(exc, RenderFailed):
        return str(exc)
    return "internal error while rendering (see the worker's logs)"


async def record_failure(pool: asyncpg.Pool, generation_id: int, exc: BaseException) -> None:
    async with pool.acquire() as conn:
        await generations_sql.record_failure(conn, generation_id, failure_message(exc))


async def give_up(conn: asyncpg.Connection, generation_id: int, attempts: int) -> None:
    """After the last attempt: `error`, with the last failure as the comment."""
    reason = await generations_sql.last_error(conn, generation_id) or "the generation could not be rendered"
    comment = f"gave up after {attempts} attempt(s): {reason}"
    row = await generations_sql.move(conn, generation_id, ["scheduled", "in-progress"], "error", comment)
    if row is not None:
        await publish_event(conn, GENERATION_STATUS_CHANGED, status_event(row))


async def apply_retention(
    pool: asyncpg.Pool, store: ObjectStore, bucket: str, keep: int, keep_for: timedelta
) -> int:
    """Delete what retention selects (see `rules.generations_to_remove`): rows become `deleted`, and
    their objects are removed before the commit (a failure keeps everything for the next run)."""
    async with pool.acquire() as conn, conn.transaction():
        candidates = await generations_sql.retention_candidates(conn, keep, keep_for)
        chosen = rules.generations_to_remove(
            [rules.StoredGeneration(**dict(r)) for r in candidates], keep, keep_for, datetime.now(UTC)
        )
        if not chosen:
            return 0
        deleted = await generations_sql.mark_deleted(conn, chosen)
        ids = [r["generation_id"] for r in deleted]
        keys = await generations_sql.object_keys(conn, ids)
        for start in range(0, len(keys), 1000):  # S3's limit per DeleteObjects request
            batch = keys[start : start + 1000]
            await store.client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
        await publish_events_many(conn, GENERATION_STATUS_CHANGED, [status_event(r) for r in deleted])
    log.info("retention removed generations", generations=len(ids), objects=len(keys))
    return len(ids)
