"""The segments worker: the report task, the TTL expiry job and the outbox relay (run by `Worker`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import structlog

from quintet_messaging import Worker
from quintet_s3 import ObjectStore
from segments import SERVICE
from segments.settings import Settings
from segments.usecases import memberships, segments
from segments.usecases.history_reports import REPORT_TASK, ReportTask, build_report, mark_report_failed

log = structlog.get_logger("segments.worker")


def build_worker(settings: Settings, pool: asyncpg.Pool, s3: Any) -> Worker:
    worker = Worker(
        SERVICE.name, pool, settings.amqp_url, schema=SERVICE.schema, max_attempts=settings.max_attempts
    )
    store = ObjectStore(s3)

    async def report(conn: asyncpg.Connection, task_id: str, payload: ReportTask) -> None:
        await build_report(conn, store, settings.reports_bucket, payload.report_id)

    async def expire_memberships(pool: asyncpg.Pool) -> None:
        ended = await memberships.expire_memberships(pool)
        if ended:
            log.info("memberships expired", ended=ended)

    async def complete_rollouts(pool: asyncpg.Pool) -> None:
        added = await segments.complete_pending_growths(
            pool, settings.rollout_batch_users, pause_ratio=settings.rollout_pause_ratio
        )
        if added:
            log.info("rollout growth completed", memberships_added=added)

    worker.on_task(REPORT_TASK, ReportTask, report, on_parked=mark_report_failed)
    worker.every("expire-memberships", timedelta(seconds=settings.ttl_sweep_seconds), expire_memberships)
    worker.every("complete-rollouts", timedelta(seconds=settings.rollout_resume_seconds), complete_rollouts)
    return worker
