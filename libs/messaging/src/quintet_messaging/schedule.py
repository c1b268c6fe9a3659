"""Periodic jobs: each runs once per period across every worker of a service.

A `schedules` row per job; a run is claimed with an `UPDATE ... WHERE next_run_at <= now()` that
moves `next_run_at` to the next epoch-aligned period boundary, so whichever instance claims a
period, nobody else can claim the same one. The built-in inbox pruner is one such job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import structlog

log = structlog.get_logger("quintet_messaging.schedule")

Job = Callable[[asyncpg.Pool], Awaitable[None]]

INBOX_PRUNE_JOB = "quintet-inbox-prune"

_SCHEDULE_INSERT = """
INSERT INTO schedules (name, period, next_run_at) VALUES ($1, $2, now()) ON CONFLICT (name) DO NOTHING
"""
_SCHEDULE_CLAIM = """
UPDATE schedules
SET next_run_at = to_timestamp((floor(extract(epoch FROM now()) / $3::float8) + 1) * $3::float8),
    last_run_at = now(),
    last_owner = $2
WHERE name = $1 AND next_run_at <= now()
RETURNING next_run_at
"""
_INBOX_PRUNE = """
DELETE FROM inbox WHERE ctid IN (
    SELECT ctid FROM inbox WHERE processed_at < now() - $1::interval LIMIT 10000
)
"""


async def run_schedule(pool: asyncpg.Pool, owner: str, name: str, period: timedelta, job: Job) -> None:
    """Register `name` and run `job(pool)` in every period this process claims, until cancelled."""
    seconds = period.total_seconds()
    while True:
        try:
            async with pool.acquire() as conn:
                await conn.execute(_SCHEDULE_INSERT, name, period)
            break
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("cannot register schedule", name=name, error=repr(exc))
            await asyncio.sleep(min(seconds, 5))
    while True:
        try:
            async with pool.acquire() as conn:
                claimed = await conn.fetchval(_SCHEDULE_CLAIM, name, owner, seconds)
            if claimed is not None:
                with structlog.contextvars.bound_contextvars(job=name):
                    await job(pool)
        except Exception:
            log.exception("periodic job failed", name=name)
        # Wake just after the next period boundary (the same boundary the claim aligns to).
        await asyncio.sleep(seconds - (time.time() % seconds) + 0.01)


def inbox_pruner(retention: timedelta) -> Job:
    """A job deleting inbox rows older than `retention`, in slices (no long lock on a large inbox).

    Duplicates arrive within minutes (redeliveries, retries, a relay re-publishing an unconfirmed
    row); inbox rows far older than that only grow the table.
    """

    async def prune(pool: asyncpg.Pool) -> None:
        removed = 0
        while True:
            status = await pool.execute(_INBOX_PRUNE, retention)
            count = int(status.rsplit(" ", 1)[1])
            removed += count
            if count < 10000:
                break
        if removed:
            log.info("inbox pruned", removed=removed, older_than=str(retention))

    return prune
