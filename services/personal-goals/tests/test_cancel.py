"""Cancelling a stuck upload: its selections become cancelled, its task does nothing more, and the
table can be applied again. No worker runs here: the test delivers the task's slices itself."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from personal_goals.api.models import UploadStatusResponse
from personal_goals.settings import Settings
from personal_goals.usecases.goals_dataset import GoalsReader
from personal_goals.usecases.selection_upload import UploadSettings, UploadTask, run_upload_slice
from quintet_testing import bearer, expect, expect_error

from .conftest import ADMIN, goal_row

APPLY = "/internal/admin/upload_goals_from_yt"
CANCEL = "/internal/admin/uploads/cancel"


async def _apply(client: Any, table: str) -> UploadStatusResponse:
    return await expect(
        await client.post(APPLY, json={"table": table}, headers=ADMIN), 200, UploadStatusResponse
    )


async def _deliver(
    db: asyncpg.Pool, s3: Any, settings: Settings, task: UploadTask, *, slices: int = 100
) -> None:
    """Run the task's slices (one chunk each) until it says it is finished, as the worker would."""
    reader = GoalsReader(s3, settings.dataset_policy())
    for _ in range(slices):
        if await run_upload_slice(db, reader, task, UploadSettings(chunk_size=4, slice_seconds=0)):
            return


async def test_a_cancelled_upload_stops_and_its_task_does_nothing_more(
    client: Any, put_goals: Any, db: asyncpg.Pool, s3: Any, settings: Settings
) -> None:
    table = await put_goals([goal_row(f"g{i}", f"u{i}", selection_id=f"s{i % 2}") for i in range(6)])
    await _apply(client, table)
    cancelled = await expect(
        await client.post(CANCEL, json={"table": table}, headers=ADMIN), 200, UploadStatusResponse
    )
    assert cancelled.status == "cancelled"
    assert [(s.selection_id, s.status) for s in cancelled.selections] == [
        ("s0", "cancelled"),
        ("s1", "cancelled"),
    ]

    await _deliver(db, s3, settings, UploadTask(table=table, generation=1))  # the queued task arrives
    assert await db.fetchval("SELECT count(*) FROM goals") == 0
    assert (await _apply(client, table)).status == "in_progress"  # re-applied: a new generation


async def test_a_cancelled_upload_applied_again_loads_every_row_once(
    client: Any, put_goals: Any, db: asyncpg.Pool, s3: Any, settings: Settings
) -> None:
    table = await put_goals([goal_row(f"g{i}", f"u{i}") for i in range(10)])
    await _apply(client, table)
    await _deliver(db, s3, settings, UploadTask(table=table, generation=1), slices=1)  # stuck mid-way
    assert await db.fetchval("SELECT count(*) FROM goals") == 4
    await expect(await client.post(CANCEL, json={"table": table}, headers=ADMIN), 200, UploadStatusResponse)

    await _apply(client, table)
    assert await db.fetchval("SELECT generation FROM goal_uploads") == 2
    await _deliver(db, s3, settings, UploadTask(table=table, generation=1))  # a stale delivery: nothing
    assert await db.fetchval("SELECT count(*) FROM goals") == 0
    await _deliver(db, s3, settings, UploadTask(table=table, generation=2))
    state = await _apply(client, table)
    assert state.status == "complete"
    assert [(s.status, s.loaded, s.skipped) for s in state.selections] == [("complete", 10, 0)]
    assert await db.fetchval("SELECT count(*) FROM goals") == 10


@pytest.mark.parametrize(
    ("table", "headers", "status", "code"),
    [
        ("s3://goals-datasets/never-applied.parquet", ADMIN, 404, "upload_not_found"),
        ("s3://goals-datasets/never-applied.parquet", bearer("goals:read", sub="u1"), 403, "missing_scope"),
        ("s3://goals-datasets/a\x00.parquet", ADMIN, 400, "validation_error"),
    ],
    ids=["unknown-table", "needs-admin", "nul-in-table"],
)
async def test_cancelling_what_cannot_be_cancelled_is_refused(
    client: Any, table: str, headers: dict[str, str], status: int, code: str
) -> None:
    await expect_error(await client.post(CANCEL, json={"table": table}, headers=headers), status, code)


async def test_a_complete_upload_cannot_be_cancelled(
    client: Any, put_goals: Any, upload: Any, worker: None
) -> None:
    table = await put_goals([goal_row("g1", "u1")])
    await upload(table)
    body = await expect_error(
        await client.post(CANCEL, json={"table": table}, headers=ADMIN), 409, "upload_finished"
    )
    assert body["details"] == {"status": "complete"}
