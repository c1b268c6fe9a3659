"""The `archive` job: completed matchings older than the retention go to the archive dataset
(Parquet, one folder per month of completion) and are then deleted with their history.

A batch is claimed first (committed), then written under a name of its own, then deleted in one
transaction. A run that stops between writing and deleting leaves the batch claimed; the next run
writes it again under the same name (replacing the object with the same rows) and deletes it, so a
matching is neither lost nor archived twice.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from contractor_mentorship.storage import archive as archive_sql
from contractor_mentorship.storage import crm
from quintet_s3 import ObjectStore

BATCH_SIZE = 1000


async def claim_batch(pool: asyncpg.Pool, completed_before: datetime) -> uuid.UUID | None:
    batch_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        claimed = await archive_sql.claim_batch(conn, batch_id, completed_before, BATCH_SIZE)
    return batch_id if claimed else None


async def write_batch(pool: asyncpg.Pool, store: ObjectStore, archive_url: str, batch_id: uuid.UUID) -> int:
    """Write the batch's matchings into the archive (one object per month); how many."""
    rows = await archive_sql.batch_rows(pool, batch_id)
    by_month: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_month[row["completed_at"].strftime("%Y-%m")].append(row)
    for month, month_rows in sorted(by_month.items()):
        await crm.write_archive_part(store, archive_url, month, batch_id, month_rows)
    return len(rows)


async def delete_batch(pool: asyncpg.Pool, batch_id: uuid.UUID) -> int:
    async with pool.acquire() as conn, conn.transaction():
        return await archive_sql.delete_batch(conn, batch_id)


async def archive(
    pool: asyncpg.Pool, store: ObjectStore, archive_url: str, now: datetime, after_days: int
) -> dict[str, int]:
    counts = {"resumed_batches": 0, "archived": 0}
    for batch_id in await archive_sql.pending_batches(pool):
        counts["resumed_batches"] += 1
        await write_batch(pool, store, archive_url, batch_id)
        counts["archived"] += await delete_batch(pool, batch_id)
    completed_before = now - timedelta(days=after_days)
    while (claimed := await claim_batch(pool, completed_before)) is not None:
        await write_batch(pool, store, archive_url, claimed)
        counts["archived"] += await delete_batch(pool, claimed)
    return counts
