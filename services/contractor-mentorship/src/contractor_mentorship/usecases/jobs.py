"""The periodic jobs by name: run by the worker on their schedule and by an admin on demand.

However it is started, a job runs alone: a session-level advisory lock per job is held for the
run, so an admin run and a scheduled run never overlap (the schedule itself already makes one run
per period across workers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from contractor_mentorship.domain.errors import JobRunning, UnknownJob
from contractor_mentorship.usecases import archive, imports
from contractor_mentorship.usecases.imports import JobDeps

JobFunction = Callable[[JobDeps], Awaitable[dict[str, int]]]


async def _import_progress(deps: JobDeps) -> dict[str, int]:
    return await imports.import_progress(deps, datetime.now(UTC))


async def _import_finished(deps: JobDeps) -> dict[str, int]:
    return await imports.import_finished(deps, datetime.now(UTC))


async def _archive(deps: JobDeps) -> dict[str, int]:
    return await archive.archive(
        deps.pool, deps.store, deps.settings.archive_url, datetime.now(UTC), deps.settings.archive_after_days
    )


JOBS: dict[str, JobFunction] = {
    "import-matchings": imports.import_matchings,
    "import-progress": _import_progress,
    "import-finished": _import_finished,
    "archive": _archive,
}


def _lock_key(job: str) -> int:
    digest = hashlib.sha256(f"contractor-mentorship/{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def run_job(deps: JobDeps, job: str) -> dict[str, int]:
    """Run `job` now and answer what it did; JobRunning if it is running elsewhere right now."""
    function = JOBS.get(job)
    if function is None:
        raise UnknownJob(job, list(JOBS))
    async with deps.pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _lock_key(job)):
            raise JobRunning(job)
        try:
            return await function(deps)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(job))
