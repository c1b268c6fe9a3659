"""The contractor-mentorship worker: the crm-request task, the four periodic jobs, the outbox relay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import structlog

from contractor_mentorship import SCHEMA, SERVICE
from contractor_mentorship.app import crm_buckets
from contractor_mentorship.domain.errors import JobRunning
from contractor_mentorship.settings import Settings
from contractor_mentorship.upstreams import Upstreams, open_upstreams
from contractor_mentorship.usecases import crm_request, jobs
from contractor_mentorship.usecases.imports import JobDeps
from contractor_mentorship.usecases.participation import CRM_REQUEST_TASK, CrmRequestTask
from quintet_messaging import Worker
from quintet_s3 import ObjectStore
from quintet_service import worker_resources

log = structlog.get_logger("contractor_mentorship.worker")


def build_worker(settings: Settings, pool: asyncpg.Pool, s3: Any, upstreams: Upstreams) -> Worker:
    worker = Worker(
        SERVICE,
        pool,
        settings.amqp_url,
        schema=SCHEMA,
        max_attempts=settings.max_attempts,
        delay_tiers=[timedelta(seconds=s) for s in settings.retry_delays_seconds],
    )
    store = ObjectStore(s3)
    deps = JobDeps(pool=pool, store=store, upstreams=upstreams, settings=settings)

    async def crm_request_task(conn: asyncpg.Connection, task_id: str, payload: CrmRequestTask) -> None:
        await crm_request.request_matching(
            conn, upstreams, store, settings.new_drivers_url, payload.matching_id
        )

    def periodic(job: str) -> Any:
        async def run(pool: asyncpg.Pool) -> None:
            try:
                counts = await jobs.run_job(deps, job)
            except JobRunning:
                log.info("job skipped: running elsewhere", job=job)
                return
            log.info("job done", job=job, **counts)

        return run

    worker.on_task(CRM_REQUEST_TASK, CrmRequestTask, crm_request_task, on_parked=crm_request.record_failure)
    periods = {
        "import-matchings": settings.import_matchings_period_seconds,
        "import-progress": settings.import_progress_period_seconds,
        "import-finished": settings.import_finished_period_seconds,
        "archive": settings.archive_period_seconds,
    }
    for job, seconds in periods.items():
        worker.every(job, timedelta(seconds=seconds), periodic(job))
    return worker


async def run_worker(settings: Settings) -> None:
    async with (
        worker_resources(settings, SCHEMA, buckets=crm_buckets(settings)) as (pool, s3),
        open_upstreams(settings) as upstreams,
    ):
        await build_worker(settings, pool, s3, upstreams).run()


__all__ = ["build_worker", "run_worker"]
