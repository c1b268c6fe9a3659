"""The contractor-mentorship worker: the crm-request task, the four periodic jobs, the outbox relay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import structlog

from contractor_mentorship import SERVICE
from contractor_mentorship.domain.errors import JobRunning
from contractor_mentorship.settings import Settings
from contractor_mentorship.upstreams import build_upstreams, upstream_session
from contractor_mentorship.usecases import crm_request, jobs
from contractor_mentorship.usecases.imports import JobDeps
from contractor_mentorship.usecases.participation import CRM_REQUEST_TASK, CrmRequestTask
from quintet_messaging import Worker, WorkerOptions
from quintet_s3 import ObjectStore

log = structlog.get_logger("contractor_mentorship.worker")

JOB_PERIODS = {
    "import-matchings": "import_matchings_period_seconds",
    "import-progress": "import_progress_period_seconds",
    "import-finished": "import_finished_period_seconds",
    "archive": "archive_period_seconds",
}


class MentorshipWorker(Worker):
    """The platform's Worker that also owns the process's upstream HTTP session (closed on stop)."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        session: aiohttp.ClientSession,
    ) -> None:
        super().__init__(
            SERVICE.name,
            pool,
            settings.amqp_url,
            schema=SERVICE.schema,
            max_attempts=settings.max_attempts,
            options=WorkerOptions(
                delay_tiers=tuple(timedelta(seconds=s) for s in settings.retry_delays_seconds)
            ),
        )
        self.session = session

    async def stop(self) -> None:
        await super().stop()
        await self.session.close()


def build_worker(settings: Settings, pool: asyncpg.Pool, s3: Any) -> Worker:
    session = upstream_session()
    upstreams = build_upstreams(settings, session)
    worker = MentorshipWorker(settings, pool, session)
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
    for job, field in JOB_PERIODS.items():
        worker.every(job, timedelta(seconds=getattr(settings, field)), periodic(job))
    return worker
