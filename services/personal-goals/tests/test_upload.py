"""The apply endpoint and the upload task: overlaps, malformed rows, idempotency, progress events."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from personal_goals.api.models import UploadStatusResponse
from personal_goals.usecases.goals_dataset import GoalsReader
from personal_goals.usecases.selection_upload import UploadSettings, UploadTask, run_upload_slice
from quintet_contracts.personal_goals import UPLOAD_PROGRESS, UploadProgress
from quintet_testing import eventually, expect, expect_error, outbox_events

from .conftest import ADMIN, NOW, goal_row

APPLY = "/internal/admin/upload_goals_from_yt"
DAY = timedelta(days=1)
T0 = NOW - 5 * DAY


async def _loaded_goal_ids(db: asyncpg.Pool) -> set[str]:
    return {r["goal_id"] for r in await db.fetch("SELECT goal_id FROM goals")}


@pytest.mark.parametrize(
    ("second", "loaded"),
    [
        (goal_row("g2", "u1", starts_at=T0 + 2 * DAY, expires_at=T0 + 20 * DAY), False),
        (goal_row("g2", "u1", starts_at=T0 - 3 * DAY, expires_at=T0 + DAY), False),
        (goal_row("g2", "u1", starts_at=T0 + 10 * DAY, expires_at=T0 + 12 * DAY), True),
        (goal_row("g2", "u1", starts_at=T0 - 2 * DAY, expires_at=T0), True),
        (goal_row("g2", "u1", application="uber", starts_at=T0, expires_at=T0 + 10 * DAY), True),
        (goal_row("g2", "u2", starts_at=T0, expires_at=T0 + 10 * DAY), True),
    ],
    ids=[
        "overlapping-tail",
        "overlapping-head",
        "touching-after",
        "touching-before",
        "other-application",
        "other-user",
    ],
)
async def test_a_goal_overlapping_a_stored_goal_of_the_user_and_application_is_skipped(
    put_goals: Any, upload: Any, worker: None, db: asyncpg.Pool, second: dict[str, Any], loaded: bool
) -> None:
    await upload(
        await put_goals([goal_row("g1", "u1", selection_id="first", starts_at=T0, expires_at=T0 + 10 * DAY)])
    )
    result = await upload(await put_goals([second]))
    assert ("g2" in await _loaded_goal_ids(db)) is loaded
    assert result["status"] == ("complete" if loaded else "partially_completed")
    if not loaded:
        assert result["skipped_goals"] == [
            {"row_index": 0, "goal_id": "g2", "selection_id": "sel-1", "reason": "overlap"}
        ]


async def test_overlaps_inside_one_dataset_skip_the_later_goal_only_when_the_earlier_is_loaded(
    put_goals: Any, upload: Any, worker: None, db: asyncpg.Pool
) -> None:
    rows = [
        goal_row("a", "u1", starts_at=T0, expires_at=T0 + 4 * DAY),
        goal_row("b", "u1", starts_at=T0 + 3 * DAY, expires_at=T0 + 7 * DAY),  # overlaps a → skipped
        goal_row(
            "c", "u1", starts_at=T0 + 6 * DAY, expires_at=T0 + 9 * DAY
        ),  # overlaps only b (skipped) → loaded
        goal_row("d", "u1", starts_at=T0 + 9 * DAY, expires_at=T0 + 11 * DAY),  # touches c → loaded
        goal_row("e", "u1", starts_at=T0 + 1 * DAY, expires_at=T0 + 2 * DAY),  # inside a → skipped
        goal_row("f", "u1", starts_at=T0 + 1 * DAY, expires_at=T0 + 2 * DAY, application="uber"),
    ]
    result = await upload(await put_goals(rows))
    assert await _loaded_goal_ids(db) == {"a", "c", "d", "f"}
    assert [(s["goal_id"], s["reason"]) for s in result["skipped_goals"]] == [
        ("b", "overlap"),
        ("e", "overlap"),
    ]


async def test_the_earlier_row_wins_an_overlap_across_chunks(
    put_goals: Any, upload: Any, worker: None, db: asyncpg.Pool
) -> None:
    filler = [goal_row(f"f{i}", f"filler{i}") for i in range(5)]  # chunk size 4: the pair straddles chunks
    rows = [
        goal_row("early", "u1", starts_at=T0, expires_at=T0 + 4 * DAY),
        *filler,
        goal_row("late", "u1", starts_at=T0 + DAY, expires_at=T0 + 3 * DAY),
    ]
    await upload(await put_goals(rows))
    loaded = await _loaded_goal_ids(db)
    assert "early" in loaded and "late" not in loaded


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"yandex_uid": None}, "missing_field:yandex_uid"),
        ({"application": ""}, "missing_field:application"),
        ({"conditions": "{not json"}, "invalid_json:conditions"),
        ({"bonus": json.dumps([1, 2])}, "invalid_json:bonus"),
        ({"expires_at": None}, "missing_field:expires_at"),
        ({"starts_at": T0, "expires_at": T0}, "invalid_period"),
        ({"starts_at": T0, "expires_at": T0 - DAY}, "invalid_period"),
        ({"goal_id": "good"}, "duplicate_goal_id"),
    ],
    ids=[
        "missing-uid",
        "empty-application",
        "bad-json",
        "json-not-object",
        "missing-expiry",
        "empty-period",
        "negative-period",
        "duplicate-goal-id",
    ],
)
async def test_a_malformed_row_is_skipped_with_its_reason_and_the_upload_goes_on(
    put_goals: Any, upload: Any, worker: None, db: asyncpg.Pool, overrides: dict[str, Any], reason: str
) -> None:
    rows = [goal_row("good", "u0"), goal_row("bad", "u1") | overrides, goal_row("after", "u2")]
    result = await upload(await put_goals(rows))
    assert result["status"] == "partially_completed"
    assert [(s["row_index"], s["reason"]) for s in result["skipped_goals"]] == [(1, reason)]
    assert result["selections"] == [
        {
            "selection_id": "sel-1",
            "status": "complete",
            "last_row_index": 3,
            "rows": 3,
            "loaded": 2,
            "skipped": 1,
        }
    ]
    assert {"good", "after"} <= await _loaded_goal_ids(db)


async def test_a_goal_id_already_loaded_by_another_upload_is_a_duplicate(
    put_goals: Any, upload: Any, worker: None
) -> None:
    await upload(await put_goals([goal_row("g1", "u1", selection_id="first")]))
    result = await upload(await put_goals([goal_row("g1", "u9", starts_at=NOW + 100 * DAY)]))
    assert [s["reason"] for s in result["skipped_goals"]] == ["duplicate_goal_id"]


async def test_a_stored_goal_id_is_a_duplicate_even_when_it_also_overlaps(
    put_goals: Any, upload: Any, worker: None
) -> None:
    await upload(await put_goals([goal_row("g1", "u1", selection_id="first", starts_at=T0)]))
    result = await upload(await put_goals([goal_row("g1", "u1", starts_at=T0)]))
    assert [s["reason"] for s in result["skipped_goals"]] == ["duplicate_goal_id"]


async def test_a_stored_goal_id_does_not_win_an_overlap_inside_its_chunk(
    put_goals: Any, upload: Any, worker: None, db: asyncpg.Pool
) -> None:
    """g1 is stored already (for another user), so in the second dataset it is a duplicate and
    cannot block g2, which overlaps it: g2 loads."""
    await upload(await put_goals([goal_row("g1", "u9", selection_id="first", starts_at=NOW + 100 * DAY)]))
    rows = [goal_row("g1", "u1", starts_at=T0), goal_row("g2", "u1", starts_at=T0 + DAY)]
    result = await upload(await put_goals(rows))
    assert [(s["goal_id"], s["reason"]) for s in result["skipped_goals"]] == [("g1", "duplicate_goal_id")]
    assert await _loaded_goal_ids(db) == {"g1", "g2"}
    assert await db.fetchval("SELECT yandex_uid FROM goals WHERE goal_id = 'g1'") == "u9"


async def test_a_clean_upload_completes_every_selection_across_chunks(
    put_goals: Any, upload: Any, worker: None, db: asyncpg.Pool
) -> None:
    rows = [goal_row(f"g{i}", f"u{i}", selection_id=f"s{i % 2}") for i in range(11)]
    result = await upload(await put_goals(rows))
    assert result["status"] == "complete"
    assert result["skipped_total"] == 0
    assert [(s["selection_id"], s["status"], s["loaded"]) for s in result["selections"]] == [
        ("s0", "complete", 6),
        ("s1", "complete", 5),
    ]
    assert await db.fetchval("SELECT count(*) FROM goals") == 11


async def test_repeated_apply_calls_start_one_upload_and_report_the_same_result(
    client: Any, put_goals: Any, upload: Any, worker: None, db: asyncpg.Pool
) -> None:
    table = await put_goals([goal_row(f"g{i}", f"u{i}") for i in range(6)])
    first = await upload(table)
    for _ in range(3):
        again = await expect(
            await client.post(APPLY, json={"table": table}, headers=ADMIN), 200, UploadStatusResponse
        )
        assert again.model_dump() == UploadStatusResponse.model_validate(first).model_dump()
    assert await db.fetchval("SELECT count(*) FROM goals") == 6
    assert await db.fetchval("SELECT count(*) FROM goal_uploads") == 1


async def test_the_first_apply_creates_pending_progress_and_enqueues_the_task_by_table(
    client: Any, put_goals: Any, db: asyncpg.Pool
) -> None:
    table = await put_goals([goal_row("g1", "u1"), goal_row("g2", "u2", selection_id="other")])
    body = await expect(
        await client.post(APPLY, json={"table": table}, headers=ADMIN), 200, UploadStatusResponse
    )
    assert body.status == "in_progress"
    assert {(s.selection_id, s.status, s.last_row_index) for s in body.selections} == {
        ("sel-1", "pending", 0),
        ("other", "pending", 0),
    }
    headers = await db.fetchval(
        "SELECT headers FROM outbox WHERE message_type = 'personal-goals.task.selection-upload'"
    )
    assert headers["x-task-id"] == table


async def test_skipped_goals_are_paginated_with_their_total(
    client: Any, put_goals: Any, upload: Any, worker: None
) -> None:
    rows = [goal_row(f"g{i}", f"u{i}", expires_at=T0) for i in range(7)]  # every row: invalid_period
    table = await put_goals(rows)
    await upload(table)
    page = await expect(
        await client.post(
            APPLY, json={"table": table, "skipped_offset": 2, "skipped_limit": 3}, headers=ADMIN
        ),
        200,
        UploadStatusResponse,
    )
    assert page.skipped_total == 7
    assert [s.row_index for s in page.skipped_goals] == [2, 3, 4]


async def test_apply_of_an_invalid_dataset_is_rejected_and_starts_nothing(
    client: Any, put_dataset: Any, db: asyncpg.Pool
) -> None:
    table = await put_dataset(b"garbage", ".parquet")
    await expect_error(await client.post(APPLY, json={"table": table}, headers=ADMIN), 400, "invalid_dataset")
    assert await db.fetchval("SELECT count(*) FROM goal_uploads") == 0


async def test_each_chunk_publishes_upload_progress_events(
    client: Any, put_goals: Any, db: asyncpg.Pool, s3: Any, settings: Any
) -> None:
    # The task's slices are run here, not by a worker: its relay would publish and remove the events.
    table = await put_goals([goal_row(f"g{i}", f"u{i}") for i in range(10)])
    await expect(await client.post(APPLY, json={"table": table}, headers=ADMIN), 200)
    reader = GoalsReader(s3, settings.dataset_policy())
    task, slice_settings = UploadTask(table=table), UploadSettings(chunk_size=4, slice_seconds=60)
    assert await run_upload_slice(db, reader, task, slice_settings)
    events = await outbox_events(db, UPLOAD_PROGRESS)
    assert [e.last_row_index for e in events] == [4, 8, 10]
    assert events[-1] == UploadProgress(
        table=table, selection_id="sel-1", last_row_index=10, loaded=10, skipped=0, status="complete"
    )


async def test_the_database_rejects_overlapping_goals_whoever_inserts_them(db: asyncpg.Pool) -> None:
    await db.execute("INSERT INTO selections (selection_id) VALUES ('s')")
    insert = """INSERT INTO goals (goal_id, selection_id, yandex_uid, application, conditions, bonus, starts_at, expires_at)
                VALUES ($1, 's', 'u', 'app', '{}', '{}', $2, $3)"""
    await db.execute(insert, "a", T0, T0 + 2 * DAY)
    await db.execute(insert, "touching", T0 + 2 * DAY, T0 + 3 * DAY)
    with pytest.raises(asyncpg.ExclusionViolationError):
        await db.execute(insert, "b", T0 + DAY, T0 + 5 * DAY)


async def _waiting_for_a_lock(db: asyncpg.Pool, connection: asyncpg.Connection) -> bool:
    pid = connection.get_server_pid()
    return bool(
        await db.fetchval("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid)
    )


async def _waits_for_commit_then_overlaps(
    db: asyncpg.Pool, writer: asyncpg.Connection, write: Any, commit: Any
) -> None:
    """`write` (an overlapping INSERT on `writer`) must block until `commit()` and then be refused."""
    blocked = asyncio.ensure_future(write)
    await eventually(lambda: _waiting_for_a_lock(db, writer))
    assert not blocked.done(), "a goal writer must wait for the other writer's commit"
    await commit()
    with pytest.raises(asyncpg.ExclusionViolationError):
        await blocked


async def test_concurrent_writers_cannot_both_commit_overlapping_goals(pg_dsn: str, db: asyncpg.Pool) -> None:

    await db.execute("INSERT INTO selections (selection_id) VALUES ('s')")
    insert = """INSERT INTO goals (goal_id, selection_id, yandex_uid, application, conditions, bonus, starts_at, expires_at)
                VALUES ($1, 's', 'u', 'app', '{}', '{}', $2, $3)"""
    first, second = (
        await asyncpg.connect(pg_dsn, server_settings={"search_path": "personal_goals"}),
        await asyncpg.connect(pg_dsn, server_settings={"search_path": "personal_goals"}),
    )
    try:
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        await second_tx.start()
        await first.execute(insert, "a", T0, T0 + 2 * DAY)
        await _waits_for_commit_then_overlaps(
            db, second, second.execute(insert, "b", T0 + DAY, T0 + 3 * DAY), first_tx.commit
        )
        await second_tx.rollback()
    finally:
        await first.close()
        await second.close()
    assert await _loaded_goal_ids(db) == {"a"}


async def test_a_loading_chunk_keeps_other_goal_writers_out_until_it_commits(
    pg_dsn: str, db: asyncpg.Pool
) -> None:
    """The loader checks its chunk under the trigger's lock and skips the trigger's probe; a writer
    racing it must still wait for the chunk's commit and then be checked against its goals, and the
    bypass must end with the chunk's transaction."""

    import pyarrow as pa

    from personal_goals.domain.goal_rows import canonical_chunk
    from personal_goals.storage.chunk_loader import chunk_csv
    from personal_goals.usecases.selection_upload import load_chunk

    table = "s3://goals-datasets/race.parquet"
    await db.execute("INSERT INTO selections (selection_id) VALUES ('sel-1')")
    await db.execute("INSERT INTO goal_uploads (table_address, total_rows) VALUES ($1, 1)", table)
    await db.execute(
        "INSERT INTO selection_upload_progresses (selection_id, table_address, total_rows) VALUES ('sel-1', $1, 1)",
        table,
    )
    chunk = canonical_chunk(pa.Table.from_pylist([goal_row("loaded", "u", starts_at=T0)]), 0, "parquet")
    insert = """INSERT INTO goals (goal_id, selection_id, yandex_uid, application, conditions, bonus, starts_at, expires_at)
                VALUES ($1, 'sel-1', 'u', 'yandex', '{}', '{}', $2, $3)"""
    loader = await asyncpg.connect(pg_dsn, server_settings={"search_path": "personal_goals"})
    other = await asyncpg.connect(pg_dsn, server_settings={"search_path": "personal_goals"})
    try:
        transaction = loader.transaction()
        await transaction.start()
        counts = await load_chunk(loader, table, chunk_csv(chunk))
        assert [(c.loaded, c.skipped) for c in counts] == [(1, 0)]
        await _waits_for_commit_then_overlaps(
            db, other, other.execute(insert, "racing", T0 + DAY, T0 + 3 * DAY), transaction.commit
        )
        # The bypass was the chunk transaction's only: the same connection is checked again.
        with pytest.raises(asyncpg.ExclusionViolationError):
            await loader.execute(insert, "after", T0 + DAY, T0 + 2 * DAY)
    finally:
        await loader.close()
        await other.close()
    assert await _loaded_goal_ids(db) == {"loaded"}


async def test_a_repeatable_read_writer_is_refused(db: asyncpg.Pool) -> None:
    await db.execute("INSERT INTO selections (selection_id) VALUES ('s')")
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        with pytest.raises(asyncpg.FeatureNotSupportedError):
            await conn.execute(
                """INSERT INTO goals (goal_id, selection_id, yandex_uid, application, conditions, bonus, starts_at, expires_at)
                   VALUES ('x', 's', 'u', 'app', '{}', '{}', $1, $2)""",
                T0,
                T0 + DAY,
            )


async def test_a_prefix_of_part_files_uploads_as_one_dataset_with_rows_numbered_across_parts(
    put_dataset: Any, upload: Any, worker: None, db: asyncpg.Pool
) -> None:
    from .conftest import parquet_bytes

    prefix = f"parts-{uuid.uuid4().hex}"
    await put_dataset(b"", key=f"{prefix}/_SUCCESS")  # bookkeeping files are not data
    await put_dataset(
        parquet_bytes([goal_row(f"a{i}", f"u{i}") for i in range(3)]), key=f"{prefix}/part-0.parquet"
    )
    await put_dataset(
        parquet_bytes([goal_row("a0", "u9"), goal_row("b1", "u10")]), key=f"{prefix}/part-1.parquet"
    )
    result = await upload(f"s3://goals-datasets/{prefix}/")
    assert [(s["row_index"], s["goal_id"], s["reason"]) for s in result["skipped_goals"]] == [
        (3, "a0", "duplicate_goal_id")
    ]
    assert await _loaded_goal_ids(db) == {"a0", "a1", "a2", "b1"}


async def test_a_skip_reason_does_not_depend_on_where_the_chunks_break(
    put_goals: Any, upload: Any, worker: None
) -> None:
    """g-a is loaded by the first chunk (chunks of 4 rows here); in the second chunk it comes back for
    another user, overlapping an earlier row of that chunk: a duplicate id first, not an overlap."""
    rows = [goal_row("g-a", "u1", starts_at=T0)] + [goal_row(f"pad{i}", f"p{i}") for i in range(3)]
    rows += [goal_row("g-b", "u2", starts_at=T0), goal_row("g-a", "u2", starts_at=T0 + DAY)]
    result = await upload(await put_goals(rows))
    assert [(s["row_index"], s["goal_id"], s["reason"]) for s in result["skipped_goals"]] == [
        (5, "g-a", "duplicate_goal_id")
    ]


async def test_values_postgresql_cannot_store_skip_their_row_and_the_upload_goes_on(
    put_goals: Any, upload: Any, worker: None, db: asyncpg.Pool
) -> None:
    bad = [
        ({"conditions": '{"count": NaN}'}, "invalid_json:conditions"),
        ({"bonus": '{"code": "\\u0000"}'}, "invalid_json:bonus"),
        ({"conditions": '{"s": "\\ud800"}'}, "invalid_json:conditions"),
        ({"yandex_uid": "u\x00"}, "invalid_text:yandex_uid"),
        ({"selection_id": "s\x00"}, "invalid_text:selection_id"),
        ({"selection_id": "s" * 300}, "too_long:selection_id"),
        ({"goal_id": "g" * 257}, "too_long:goal_id"),
    ]
    rows = [goal_row("first", "u0")]
    rows += [goal_row(f"bad{i}", f"b{i}") | overrides for i, (overrides, _) in enumerate(bad)]
    rows += [goal_row("last", "u9")]
    result = await upload(await put_goals(rows))
    assert result["status"] == "partially_completed"
    assert [s["reason"] for s in result["skipped_goals"]] == [reason for _, reason in bad]
    assert await _loaded_goal_ids(db) == {"first", "last"}
    assert [s["selection_id"] for s in result["selections"]] == ["sel-1"]  # no unusable selection
