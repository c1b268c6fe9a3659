"""Goal uploads at the service boundary: validate, apply (start + status) and the upload task's slice.

Transactions are opened here; the SQL lives in `storage`, the rules in `domain`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel

from personal_goals import SERVICE
from personal_goals.domain.dataset_schema import SchemaProblem
from personal_goals.domain.upload import (
    MAX_ID_LENGTH,
    OverallUploadStatus,
    overall_status,
    selection_status_after,
)
from personal_goals.storage import uploads
from personal_goals.storage.chunk_loader import SelectionChunkCounts, chunk_csv, load_chunk
from personal_goals.storage.dataset import DatasetUnreadable, GoalsDataset, load_dataset
from quintet_contracts.personal_goals import UPLOAD_PROGRESS, UploadProgress
from quintet_messaging import enqueue_task, publish_event

log = structlog.get_logger(__name__)

UPLOAD_TASK = "selection-upload"


class UploadTask(BaseModel):
    table: str


class DatasetInvalid(Exception):
    def __init__(self, table: str, problems: list[dict[str, str]]) -> None:
        self.table = table
        self.problems = problems
        super().__init__("; ".join(p["message"] for p in problems))


class SelectionsAlreadyUploading(Exception):
    def __init__(self, selection_ids: list[str]) -> None:
        self.selection_ids = selection_ids
        super().__init__(f"an upload of selection(s) {', '.join(selection_ids)} has already started")


@dataclass(frozen=True)
class DatasetSummary:
    rows: int
    selections: dict[str, int]


@dataclass(frozen=True)
class UploadState:
    status: OverallUploadStatus
    selections: list[uploads.SelectionProgress]
    skipped_goals: list[uploads.SkippedGoal]
    skipped_total: int
    failure_reason: str | None


def _problem(problem: SchemaProblem) -> dict[str, str]:
    return {"field": problem.column, "problem": problem.problem, "message": problem.message}


async def inspect_dataset(s3: Any, table: str) -> DatasetSummary:
    """Schema + counts per selection; raises DatasetInvalid naming every problem."""
    try:
        dataset = await load_dataset(s3, table)
        # Decoding (a Parquet column, or a whole CSV/JSONL) is CPU work: keep it off the event loop.
        problems = [_problem(p) for p in await asyncio.to_thread(dataset.schema_problems)]
        if problems:
            raise DatasetInvalid(table, problems)
        rows = dataset.num_rows
        selections = await asyncio.to_thread(dataset.selection_rows)
    except DatasetUnreadable as exc:
        raise DatasetInvalid(
            table, [{"field": "table", "problem": "unreadable", "message": str(exc)}]
        ) from exc
    if rows == 0:
        raise DatasetInvalid(
            table, [{"field": "table", "problem": "empty", "message": f"{table} has no rows"}]
        )
    if not selections:
        message = (
            f"{table} has no row with a usable selection_id (non-blank, at most {MAX_ID_LENGTH} characters)"
        )
        raise DatasetInvalid(table, [{"field": "selection_id", "problem": "empty", "message": message}])
    return DatasetSummary(rows, selections)


async def validate_upload(pool: asyncpg.Pool, s3: Any, table: str) -> DatasetSummary:
    summary = await inspect_dataset(s3, table)
    async with pool.acquire() as conn:
        taken = await uploads.selections_already_uploading(conn, list(summary.selections))
    if taken:
        raise SelectionsAlreadyUploading(taken)
    return summary


async def apply_upload(
    pool: asyncpg.Pool, s3: Any, table: str, *, skipped_offset: int, skipped_limit: int
) -> UploadState:
    """Start the upload on the first call (idempotently), then answer its current state."""
    async with pool.acquire() as conn:
        existing = await uploads.get_upload(conn, table)
    if existing is None:
        summary = await validate_upload(pool, s3, table)
        async with pool.acquire() as conn, conn.transaction():
            if await uploads.insert_upload(conn, table, summary.rows):
                try:
                    async with conn.transaction():  # savepoint: a lost race becomes a clean 409
                        await uploads.insert_selection_progresses(conn, table, summary.selections)
                except asyncpg.UniqueViolationError:
                    taken = await uploads.selections_already_uploading(conn, list(summary.selections))
                    raise SelectionsAlreadyUploading(taken) from None
                await enqueue_task(conn, SERVICE.name, UPLOAD_TASK, table, UploadTask(table=table))
                log.info("goals upload started", table=table, rows=summary.rows)
    return await upload_state(pool, table, skipped_offset=skipped_offset, skipped_limit=skipped_limit)


async def upload_state(
    pool: asyncpg.Pool, table: str, *, skipped_offset: int, skipped_limit: int
) -> UploadState:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        upload = await uploads.get_upload(conn, table)
        assert upload is not None
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


# -- the upload task ----------------------------------------------------------------------------


class DatasetCache:
    """The last dataset a worker read: slices of one upload follow each other, so the bytes are
    fetched once per worker process rather than once per slice."""

    def __init__(self) -> None:
        self._table: str | None = None
        self._dataset: GoalsDataset | None = None

    async def get(self, s3: Any, table: str) -> GoalsDataset:
        if self._table != table or self._dataset is None:
            self._dataset = None  # free the previous one before fetching the next
            self._dataset = await load_dataset(s3, table)
            self._table = table
        return self._dataset


@dataclass(frozen=True)
class UploadSettings:
    chunk_size: int
    slice_seconds: float


async def run_upload_slice(
    pool: asyncpg.Pool, s3: Any, cache: DatasetCache, table: str, settings: UploadSettings
) -> bool:
    """Load chunks until the dataset ends or the slice's time is up; True when nothing is left.

    Each chunk commits in its own transaction together with the progress it makes, so a crash at any
    point resumes at the first row not yet committed.
    """
    async with pool.acquire() as conn:
        upload = await uploads.get_upload(conn, table)
    if upload is None or upload.status in ("complete", "failed"):
        return True
    dataset = await cache.get(s3, table)
    problems = await asyncio.to_thread(dataset.schema_problems)
    if problems:
        # The dataset changed after validation; retrying cannot help.
        async with pool.acquire() as conn, conn.transaction():
            await _fail(conn, table, "dataset schema changed: " + "; ".join(p.message for p in problems))
        return True
    deadline = time.monotonic() + settings.slice_seconds
    chunks = dataset.chunks(upload.last_row_index, settings.chunk_size)
    next_chunk = asyncio.ensure_future(asyncio.to_thread(_next_chunk_csv, chunks))
    try:
        while True:
            prepared = await next_chunk
            if prepared is None:
                break
            first_row, rows, csv_bytes = prepared
            # Prepare the next chunk (decode + CSV, in C++ mostly) while the database loads this one.
            next_chunk = asyncio.ensure_future(asyncio.to_thread(_next_chunk_csv, chunks))
            done = await _commit_chunk(pool, table, first_row, first_row + rows, csv_bytes)
            if done is None:
                return False  # another runner of this upload got ahead; the next slice re-reads
            if done:
                return True
            if time.monotonic() > deadline:
                return False
    finally:
        if not next_chunk.done():
            next_chunk.cancel()
            await asyncio.gather(next_chunk, return_exceptions=True)
    # The dataset has fewer rows than validated (it changed): finish with what was there.
    async with pool.acquire() as conn, conn.transaction():
        await _finish(conn, table)
    return True


def _next_chunk_csv(chunks: Any) -> tuple[int, int, bytes] | None:
    chunk = next(chunks, None)
    if chunk is None:
        return None
    return int(chunk.column("row_index")[0].as_py()), chunk.num_rows, chunk_csv(chunk)


async def _commit_chunk(
    pool: asyncpg.Pool, table: str, first_row: int, end_row: int, csv_bytes: bytes
) -> bool | None:
    """One chunk in one transaction; True when the upload is complete, None if the chunk was done
    by someone else already."""
    async with pool.acquire() as conn, conn.transaction():
        upload = await uploads.get_upload(conn, table, for_update=True)
        if upload is None or upload.status in ("complete", "failed") or upload.last_row_index != first_row:
            return None
        counts = await load_chunk(conn, table, csv_bytes)
        return await _record_progress(conn, upload, end_row, counts)


async def _record_progress(
    conn: asyncpg.Connection, upload: uploads.GoalUpload, end_row: int, counts: list[SelectionChunkCounts]
) -> bool:
    by_selection = {c.selection_id: c for c in counts}
    progresses = await uploads.selection_progresses(conn, upload.table_address, for_update=True)
    finished = end_row >= upload.total_rows
    changed = []
    for progress in progresses:
        if progress.status in ("complete", "failed"):
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
    upload = await uploads.get_upload(conn, table, for_update=True)
    if upload is not None and upload.status not in ("complete", "failed"):
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
