"""The personal-goals worker: the upload task (bounded slices that re-schedule themselves) and the
outbox relay (run by `Worker`)."""

from __future__ import annotations

from typing import Any

import asyncpg

from personal_goals import SERVICE
from personal_goals.settings import Settings
from personal_goals.usecases.goals_dataset import GoalsReader
from personal_goals.usecases.selection_upload import (
    UPLOAD_TASK,
    UploadSettings,
    UploadTask,
    mark_upload_failed,
    run_upload_slice,
)
from quintet_messaging import Worker, enqueue_task


def build_worker(settings: Settings, pool: asyncpg.Pool, s3: Any) -> Worker:
    worker = Worker(
        SERVICE.name, pool, settings.amqp_url, schema=SERVICE.schema, max_attempts=settings.max_attempts
    )
    reader = GoalsReader(s3, settings.dataset_policy())
    upload_settings = UploadSettings(chunk_size=settings.chunk_size, slice_seconds=settings.slice_seconds)

    async def upload_slice(conn: asyncpg.Connection, task_id: str, payload: UploadTask) -> None:
        # Chunks commit on their own connections (progress must be visible and durable per chunk);
        # `conn` carries the inbox row and the re-schedule of the next slice.
        finished = await run_upload_slice(pool, reader, payload, upload_settings)
        if not finished:
            await enqueue_task(conn, SERVICE.name, UPLOAD_TASK, task_id, payload)

    worker.on_task(UPLOAD_TASK, UploadTask, upload_slice, on_parked=mark_upload_failed)
    return worker
