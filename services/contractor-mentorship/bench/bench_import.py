"""BENCH mentorship-import-100k: `import-matchings` over 100,000 distribution rows (goal ≤ 10 s): the
rows read from S3, the newbies' linked profiles resolved in bulk from the driver-profiles stand-in
(its own process), every matching moved to `matched` and, after both drivers are pushed to
client-events, to `initialized`, each change with its transition and event.
Baseline in the same run: one transaction per row (the same reading, resolving and pushes),
measured on a sample and extrapolated.

    .venv/bin/python services/contractor-mentorship/bench/bench_import.py
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import structlog
from stack import BenchStack, bench_line

from contractor_mentorship.settings import Settings, crm_policy
from contractor_mentorship.storage import matchings as matchings_sql
from contractor_mentorship.upstreams import open_upstreams
from contractor_mentorship.usecases import imports
from quintet_db import create_pool
from quintet_s3 import ObjectStore, s3_client, write_dataset_part

ROWS = int(os.environ.get("BENCH_MENTORSHIP_ROWS", "100000"))
SAMPLE = int(os.environ.get("BENCH_MENTORSHIP_SAMPLE", "3000"))
MENTORS = 1000


def world(path: Path) -> None:
    """The stand-ins' drivers: ROWS newbies with two linked profiles each, MENTORS mentors."""
    drivers = [
        {
            "unique_driver_id": f"u-n{i}",
            "profiles": [{"park_id": "p1", "driver_id": f"n{i}"}, {"park_id": "p2", "driver_id": f"n{i}b"}],
            "first_name": "Н",
            "phone": f"+7900{i:07d}",
            "hired_at": "2026-11-30T00:00:00+00:00",
        }
        for i in range(ROWS)
    ] + [
        {
            "unique_driver_id": f"u-m{i}",
            "profiles": [{"park_id": "pm", "driver_id": f"m{i}"}],
            "first_name": "М",
        }
        for i in range(MENTORS)
    ]
    path.write_text(json.dumps({"drivers": drivers}))


async def arrange(dsn: str, settings: Settings, store: ObjectStore, count: int, offset: int = 0) -> None:
    """`count` requested matchings (one per newbie) and their distribution rows in the CRM's table."""
    pool = await create_pool(dsn, "contractor_mentorship", min_size=1, max_size=2)
    try:
        await pool.execute(
            """
            INSERT INTO matchings (id, newbie_park_id, newbie_driver_id, newbie_unique_driver_id, status)
            SELECT gen_random_uuid(), 'p1', 'n' || i, 'u-n' || i, 'requested'
            FROM generate_series($1::int, $2::int - 1) AS i
            """,
            offset,
            offset + count,
        )
    finally:
        await pool.close()
    connected = datetime.now(UTC) - timedelta(hours=1)
    rows = [
        {
            # The CRM answers under the newbie's other linked profile: resolving is needed.
            "newbie_park_id": "p2",
            "newbie_driver_id": f"n{i}b",
            "mentor_park_id": "pm",
            "mentor_driver_id": f"m{i % MENTORS}",
            "connected_dttm": connected + timedelta(microseconds=i),
        }
        for i in range(offset, offset + count)
    ]
    await write_dataset_part(store, settings.distribution_url, pa.Table.from_pylist(rows))


async def one_transaction_per_row(deps: imports.JobDeps) -> int:
    """The baseline: the same reading, bulk resolving and pushes, but a transaction per row."""
    counts = imports.crm.ReadCounts()
    rows = [
        r
        async for r in imports.crm.distribution_since(
            deps.store, deps.settings.distribution_url, None, counts, crm_policy(deps.settings)
        )
    ]
    profiles = await deps.upstreams.driver_profiles.retrieve(r.newbie for r in rows)
    people = [profiles[r.newbie].unique_driver_id for r in rows]
    found = await matchings_sql.waiting_for_crm(deps.pool, people)
    waiting = {m["newbie_unique_driver_id"]: m for m in found}
    # The dataset also holds the rows of the run before (same bucket): only this run's newbies wait.
    rows, people = zip(*[(r, p) for r, p in zip(rows, people, strict=True) if p in waiting], strict=True)
    events = []
    for row, person in zip(rows, people, strict=True):
        newbie = (waiting[person]["newbie_park_id"], waiting[person]["newbie_driver_id"])
        events.append(imports._client_event(waiting[person]["id"], newbie, "newbie", "initialized"))
        events.append(imports._client_event(waiting[person]["id"], row.mentor, "mentor", "initialized"))
    await deps.upstreams.client_events.push(events)
    moved = 0
    for row, person in zip(rows, people, strict=True):
        async with deps.pool.acquire() as conn, conn.transaction():
            moved += await matchings_sql.match_and_initialize(
                conn, [waiting[person]["id"]], [row.mentor], [row.connected_dttm]
            )
    return moved


async def timed_run(stack: BenchStack, count: int, baseline: bool) -> tuple[float, dict[str, Any]]:
    dsn = await stack.database()
    # Bulk calls of 500 profiles to a stand-in on a shared machine: a generous per-call timeout.
    settings = Settings(**stack.settings(dsn, upstream_timeout_seconds=30))  # the default chunks
    async with (
        s3_client(
            settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_region
        ) as s3,
        open_upstreams(settings) as upstreams,
    ):
        store = ObjectStore(s3)
        await store.ensure_bucket(settings.distribution_url.split("/")[2])
        offset = ROWS - count  # the baseline uses newbies of its own
        await arrange(dsn, settings, store, count, offset)
        pool = await create_pool(dsn, "contractor_mentorship", min_size=2, max_size=4)
        try:
            deps = imports.JobDeps(pool=pool, store=store, upstreams=upstreams, settings=settings)
            started = time.perf_counter()
            if baseline:
                done: dict[str, Any] = {"initialized": await one_transaction_per_row(deps)}
            else:
                done = await imports.import_matchings(deps)
            elapsed = time.perf_counter() - started
            initialized = await pool.fetchval("SELECT count(*) FROM matchings WHERE status = 'initialized'")
            assert initialized == count, (initialized, count, done)
        finally:
            await pool.close()
    return elapsed, done


def settings_default_chunk() -> int:
    return int(Settings.model_fields["import_batch_size"].default)


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    stack = BenchStack()
    try:
        with tempfile.TemporaryDirectory() as folder:
            fixture = Path(folder) / "drivers.json"
            world(fixture)
            stack.start_stand_ins(fixture)
        ours, counts = await timed_run(stack, ROWS, baseline=False)
        sample, _ = await timed_run(stack, SAMPLE, baseline=True)
        baseline = sample * ROWS / SAMPLE
        print(
            f"# {ROWS:,} rows, 2 linked profiles per newbie, "
            f"chunks of {settings_default_chunk():,} (the default): {counts}; "
            f"baseline: a transaction per row, measured on {SAMPLE:,} rows, extrapolated x{ROWS / SAMPLE:.0f}"
        )
        bench_line("mentorship-import-100k", ours, "s", baseline, baseline / ours)
    finally:
        await stack.close()


if __name__ == "__main__":
    asyncio.run(main())
