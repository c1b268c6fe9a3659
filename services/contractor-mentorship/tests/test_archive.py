"""The archive job: completed matchings past the retention move to the archive dataset (Parquet by
month) and leave the database; a run that stopped between writing and deleting loses nothing and
archives nothing twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from contractor_mentorship.usecases import archive
from quintet_s3 import DatasetPolicy, ObjectStore, list_dataset_parts, parse_dataset_address

AddDriver = Callable[..., Awaitable[dict[str, Any]]]
RunJob = Callable[[str], Awaitable[dict[str, int]]]


async def completed(add_driver: AddDriver, accept: Any, crm: Any, run_job: RunJob, count: int) -> list[str]:
    """`count` matchings walked to `failed` (no promocode) through the jobs."""
    mentor = await add_driver(hired_days_ago=800)
    newbies = [await add_driver() for _ in range(count)]
    ids = [str((await accept(n))["id"]) for n in newbies]
    await crm.distribute(
        [(n["profiles"][0], mentor["profiles"][0]) for n in newbies], datetime.now(UTC) - timedelta(days=20)
    )
    await run_job("import-matchings")
    for newbie in newbies:
        await crm.results(newbie["profiles"][0], rate_avg_7d="5")
    await run_job("import-progress")
    await run_job("import-progress")
    await crm.promocodes(datetime.now(UTC).date().isoformat(), {"nobody_here": "X"})
    assert (await run_job("import-finished"))["failed"] == count
    return ids


async def backdate_completion(db: asyncpg.Pool, days: int) -> None:
    """Time passing: the completions happened `days` ago."""
    await db.execute("UPDATE matchings SET completed_at = completed_at - make_interval(days => $1)", days)


async def archived(dataset_rows: Any, settings: Any) -> list[dict[str, Any]]:
    return list(await dataset_rows(settings.archive_url))


async def test_old_completed_matchings_move_to_the_archive_with_their_history(
    add_driver: AddDriver,
    accept: Any,
    crm: Any,
    run_job: RunJob,
    db: asyncpg.Pool,
    store: ObjectStore,
    settings: Any,
    dataset_rows: Any,
) -> None:
    ids = await completed(add_driver, accept, crm, run_job, 3)
    assert (await run_job("archive"))["archived"] == 0  # completed just now: kept
    await backdate_completion(db, 91)
    assert (await run_job("archive"))["archived"] == 3
    assert sorted(str(r["id"]) for r in await archived(dataset_rows, settings)) == sorted(ids)
    assert await db.fetchval("SELECT count(*) FROM matchings") == 0
    assert await db.fetchval("SELECT count(*) FROM status_transitions") == 0
    assert await db.fetchval("SELECT count(*) FROM results") == 0
    address = parse_dataset_address(settings.archive_url)
    [part] = await list_dataset_parts(store, address, DatasetPolicy((address.bucket,)))
    assert "/month=" in part.key and part.key.endswith(".parquet")
    row = (await archived(dataset_rows, settings))[0]
    assert row["status"] == "failed" and '"to_status": "failed"' in row["transitions"].replace(
        ":", ": "
    ).replace(":  ", ": ")


async def test_a_run_stopped_between_write_and_delete_neither_loses_nor_duplicates(
    add_driver: AddDriver,
    accept: Any,
    crm: Any,
    run_job: RunJob,
    db: asyncpg.Pool,
    store: ObjectStore,
    settings: Any,
    dataset_rows: Any,
) -> None:
    ids = await completed(add_driver, accept, crm, run_job, 2)
    await backdate_completion(db, 100)
    # The first run claims a batch and writes it, then stops before deleting.
    batch = await archive.claim_batch(db, datetime.now(UTC) - timedelta(days=90))
    assert batch is not None
    assert await archive.write_batch(db, store, settings.archive_url, batch) == 2
    assert await db.fetchval("SELECT count(*) FROM matchings") == 2

    counts = await run_job("archive")
    assert (counts["resumed_batches"], counts["archived"]) == (1, 2)
    assert sorted(str(r["id"]) for r in await archived(dataset_rows, settings)) == sorted(ids)
    assert await db.fetchval("SELECT count(*) FROM matchings") == 0
