"""Goal uploads: validate, apply (start + status), cancel, and the upload task's slice.

Transactions are opened here; the SQL lives in `storage`, the rules in `domain`, the dataset reading
in `usecases.goals_dataset`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel

from personal_goals import SERVICE
from personal_goals.domain.errors import (
    DatasetInvalid,
    SelectionsAlreadyUploading,
    UploadFinished,
    UploadNotFound,
)
from personal_goals.domain.overlaps import overlap_losers
from personal_goals.domain.upload import OverallUploadStatus, overall_status, selection_status_after
from personal_goals.storage import chunk_loader, uploads
from personal_goals.storage.chunk_loader import SelectionChunkCounts
from personal_goals.usecases.goals_dataset import DatasetSummary, GoalsReader, PreparedChunk, inspect_dataset
from quintet_contracts.personal_goals import UPLOAD_PROGRESS, UploadProgress
from quintet_messaging import enqueue_task, publish_event
from quintet_s3 import DatasetPolicy

log = structlog.get_logger(__name__)

UPLOAD_TASK = "selection-upload"
_FINISHED = ("complete", "failed", "cancelled")
_NOT_CANCELLABLE = ("complete", "cancelled")


class UploadTask(BaseModel):
    table: str
    # The apply this task was enqueued for (1 for tasks enqueued before uploads had generations).
    generation: int = 1


@dataclass(frozen=True)
class UploadState:
    status: OverallUploadStatus
    selections: list[uploads.SelectionProgress]
    skipped_goals: list[uploads.SkippedGoal]
    skipped_total: int
    failure_reason: str | None


async def validate_upload(pool: asyncpg.Pool, s3: Any, policy: DatasetPolicy, table: str) -> DatasetSummary:
    summary = await inspect_dataset(s3, table, policy)
    async with pool.acquire() as conn:
        taken = await uploads.selections_already_uploading(conn, table, list(summary.selections))
    if taken:
        raise SelectionsAlreadyUploading(taken)
    return summary


async def apply_upload(
    pool: asyncpg.Pool,
    s3: Any,
    policy: DatasetPolicy,
    table: str,
    *,
    skipped_offset: int,
    skipped_limit: int,
) -> UploadState:
    """Start the upload on the first call (idempotently) or after a cancel, then answer its state."""
    async with pool.acquire() as conn:
        existing = await uploads.get_upload(conn, table)
    if existing is None or existing.status == "cancelled":
        summary = await validate_upload(pool, s3, policy, table)
        async with pool.acquire() as conn, conn.transaction():
            await _start(conn, table, summary)
    return await upload_state(pool, table, skipped_offset=skipped_offset, skipped_limit=skipped_limit)


async def _start(conn: asyncpg.Connection, table: str, summary: DatasetSummary) -> None:
    if await uploads.insert_upload(conn, table, summary.rows):
        generation = 1
    else:
        upload = await uploads.lock_upload(conn, table)
        if upload is None or upload.status != "cancelled":
            return  # a concurrent first apply (or re-apply) won
        generation = await uploads.restart_cancelled_upload(conn, table, summary.rows)
    try:
        async with conn.transaction():  # savepoint: a lost race becomes a clean 409
            await uploads.insert_selection_progresses(conn, table, summary.selections)
    except asyncpg.UniqueViolationError:
        taken = await uploads.selections_already_uploading(conn, table, list(summary.selections))
        raise SelectionsAlreadyUploading(taken) from None
    task = UploadTask(table=table, generation=generation)
    await enqueue_task(conn, SERVICE.name, UPLOAD_TASK, table, task)
    log.info("goals upload started", table=table, rows=summary.rows, generation=generation)


async def upload_state(
    pool: asyncpg.Pool, table: str, *, skipped_offset: int, skipped_limit: int
) -> UploadState:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        upload = await uploads.get_upload(conn, table)
        if upload is None:
            raise UploadNotFound(table)
        progresses = await uploads.selection_progresses(conn, table)
        skipped, skipped_total = await uploads.skipped_goals(
            conn, table, offset=skipped_offset, limit=skipped_limit
        )
    return UploadState(
        overall_status(upload.status, skipped_total),
        progresses,
        skipped,
        skipped_total,
        upload.failure_reason,
    )


async def cancel_upload(pool: asyncpg.Pool, table: str, *, skipped_limit: int) -> UploadState:
    """Cancel a running (or failed) upload: its unfinished selections become `cancelled` and its task
    does nothing more (a chunk being loaded commits first: chunks lock the upload row). Apply starts
    it over."""
    async with pool.acquire() as conn, conn.transaction():
        upload = await uploads.lock_upload(conn, table)
        if upload is None:
            raise UploadNotFound(table)
        if upload.status in _NOT_CANCELLABLE:
            raise UploadFinished(table, upload.status)
        for progress in await uploads.cancel_upload(conn, table):
            await _publish_progress(conn, progress)
    log.info("goals upload cancelled", table=table)
    return await upload_state(pool, table, skipped_offset=0, skipped_limit=skipped_limit)


# -- the upload task ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadSettings:
    chunk_size: int
    slice_seconds: float


async def run_upload_slice(
    pool: asyncpg.Pool, reader: GoalsReader, task: UploadTask, settings: UploadSettings
) -> bool:
    """Load chunks until the dataset ends or the slice's time is up; True when nothing is left.

    Each chunk commits in its own transaction together with the progress it makes, so a crash at any
    point resumes at the first row not yet committed.
    """
    table = task.table
    async with pool.acquire() as conn:
        upload = await uploads.get_upload(conn, table)
    if upload is None or upload.status in _FINISHED or upload.generation != task.generation:
        return True  # finished, cancelled, or a delivery left over from an earlier generation
    deadline = time.monotonic() + settings.slice_seconds
    chunks = reader.chunks(table, upload.last_row_index, settings.chunk_size)
    next_chunk = asyncio.ensure_future(_next(chunks))
    try:
        while True:
            try:
                chunk = await next_chunk
            except DatasetInvalid as exc:
                # The dataset changed or broke after validation (a corrupt page, a part gone, another
                # schema): retrying cannot help.
                async with pool.acquire() as conn, conn.transaction():
                    await _fail(conn, table, str(exc))
                return True
            if chunk is None:
                break
            # Prepare the next chunk (read + decode + CSV) while the database loads this one.
            next_chunk = asyncio.ensure_future(_next(chunks))
            done = await _commit_chunk(pool, task, chunk)
            if done is None:
                return False  # another runner of this upload got ahead, or it was cancelled
            reader.committed(chunk)
            if done:
                return True
            if time.monotonic() > deadline:
                return False
    finally:
        if not next_chunk.done():
            next_chunk.cancel()
        await asyncio.gather(next_chunk, return_exceptions=True)
        await chunks.aclose()
    # The dataset has fewer rows than validated (it changed): finish with what was there.
    async with pool.acquire() as conn, conn.transaction():
        await _finish(conn, table)
    return True


async def _next(chunks: AsyncIterator[PreparedChunk]) -> PreparedChunk | None:
    return await anext(chunks, None)


async def _commit_chunk(pool: asyncpg.Pool, task: UploadTask, chunk: PreparedChunk) -> bool | None:
    """One chunk in one transaction; True when the upload is complete, None if the chunk was done by
    someone else already (or the upload was cancelled meanwhile)."""
    async with pool.acquire() as conn, conn.transaction():
        upload = await uploads.lock_upload(conn, task.table)
        if (
            upload is None
            or upload.status in _FINISHED
            or upload.generation != task.generation
            or upload.last_row_index != chunk.first_row
        ):
            return None
        counts = await load_chunk(conn, task.table, chunk.csv)
        return await _record_progress(conn, upload, chunk.first_row + chunk.rows, counts)


async def load_chunk(conn: asyncpg.Connection, table: str, chunk_csv: bytes) -> list[SelectionChunkCounts]:
    """Load one canonical chunk (see `storage.chunk_loader`) in the caller's transaction."""
    await chunk_loader.stage_chunk(conn, chunk_csv)
    try:
        async with conn.transaction():  # a savepoint: the fast pass is undone if it meets a stored id
            await _classify_and_insert(conn, table, check_stored_ids=False)
    except asyncpg.UniqueViolationError:
        await _classify_and_insert(conn, table, check_stored_ids=True)
    return await chunk_loader.record_skips(conn, table)


async def _classify_and_insert(conn: asyncpg.Connection, table: str, *, check_stored_ids: bool) -> None:
    await chunk_loader.classify_rows(conn, table, check_stored_ids=check_stored_ids)
    contested = await chunk_loader.contested_rows(conn)
    if contested:
        await chunk_loader.reject_overlapping(conn, overlap_losers(contested))
    await chunk_loader.insert_goals(conn)


async def _record_progress(
    conn: asyncpg.Connection, upload: uploads.GoalUpload, end_row: int, counts: list[SelectionChunkCounts]
) -> bool:
    by_selection = {c.selection_id: c for c in counts}
    progresses = await uploads.lock_selection_progresses(conn, upload.table_address)
    finished = end_row >= upload.total_rows
    changed = []
    for progress in progresses:
        if progress.status in _FINISHED:
            continue
        chunk = by_selection.get(progress.selection_id)
        loaded = progress.loaded + (chunk.loaded if chunk else 0)
        skipped = progress.skipped + (chunk.skipped if chunk else 0)
        status = "complete" if finished else selection_status_after(progress.total_rows, loaded, skipped)
        changed.append(
            replace(progress, status=status, last_row_index=end_row, loaded=loaded, skipped=skipped)
        )
    await uploads.save_selection_progresses(conn, changed)
    await uploads.advance_upload(
        conn, upload.table_address, end_row, "complete" if finished else "in_progress"
    )
    for progress in changed:
        if progress.selection_id in by_selection or progress.status == "complete":
            await _publish_progress(conn, progress)
    return finished


async def _publish_progress(conn: asyncpg.Connection, progress: uploads.SelectionProgress) -> None:
    await publish_event(
        conn,
        UPLOAD_PROGRESS,
        UploadProgress(
            table=progress.table_address,
            selection_id=progress.selection_id,
            last_row_index=progress.last_row_index,
            loaded=progress.loaded,
            skipped=progress.skipped,
            status=progress.status,  # type: ignore[arg-type]
        ),
    )


async def _finish(conn: asyncpg.Connection, table: str) -> None:
    upload = await uploads.lock_upload(conn, table)
    if upload is not None and upload.status not in _FINISHED:
        await _record_progress(
            conn, replace(upload, total_rows=upload.last_row_index), upload.last_row_index, []
        )


async def _fail(conn: asyncpg.Connection, table: str, reason: str) -> None:
    for progress in await uploads.fail_upload(conn, table, reason):
        await _publish_progress(conn, progress)


async def mark_upload_failed(conn: asyncpg.Connection, table: str, reason: str) -> None:
    """`on_parked` of the upload task: the work is failed in our tables, with the reason."""
    log.error("goals upload failed", table=table, reason=reason)
    await _fail(conn, table, reason)
