"""Loading one canonical chunk of a dataset into `goals`, set-based, inside the caller's transaction.

Per chunk (the use case calls these in order, in one transaction): COPY the rows into a temp staging
table (`stage_chunk`), classify them set-based (`classify_rows`: malformed, duplicate goal id,
overlap with stored goals), fetch the rows of owners whose rows overlap each other
(`contested_rows`) and reject those `domain.overlaps` rules out (`reject_overlapping`), then
INSERT … SELECT the survivors (`insert_goals`) and record the skipped rows (`record_skips`). No
statement runs per row; every statement below reads as it runs.

Periods are half-open: `a.starts_at < b.expires_at AND b.starts_at < a.expires_at` is an overlap,
touching periods are not. Before classifying, the chunk takes the advisory lock of the database's
`goals_no_overlap` trigger and holds it until commit: no other goal writer can commit in between, so
the classification is exact, and the chunk sets `personal_goals.overlaps_prechecked` (transaction-
local) so the trigger does not probe its rows a second time (migration 0002). Every other writer is
still checked by the trigger, after waiting for the chunk's commit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

_STAGING_COLUMNS = (
    "row_index",
    "selection_id",
    "goal_id",
    "yandex_uid",
    "application",
    "conditions",
    "bonus",
    "starts_at",
    "expires_at",
    "error",
    "repeated",
)

# ON COMMIT DELETE ROWS: the table lives as long as the pooled connection, its rows one transaction.
_CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS goal_upload_staging (
    row_index bigint NOT NULL,
    selection_id text,
    goal_id text,
    yandex_uid text,
    application text,
    conditions jsonb,
    bonus jsonb,
    starts_at timestamptz,
    expires_at timestamptz,
    error text,
    repeated boolean NOT NULL,  -- an earlier row of the chunk has the same goal id
    verdict text  -- why the row is skipped; NULL: it loads
) ON COMMIT DELETE ROWS
"""

# Every verdict that needs no comparison between rows of the chunk, in one pass. A row that is not
# skipped keeps verdict NULL (it is not rewritten: most rows load, and rewriting each staging row
# costs about as much as an index probe). The verdict is computed in WHERE for every row and again in
# SET for the few rows it skips: cheaper than joining the staging table to itself. CASE stops at the
# first true branch, so the index probes only run for rows still in the running; separate branches,
# not one OR, each an index probe per row. `OFFSET 0` keeps each EXISTS a per-row index probe:
# without it the planner may turn it into a hashed subplan that reads all of `goals` for every chunk
# (quadratic over an upload). The reasons are those of `domain.upload`.
#
# Goal ids already stored are found in one of two ways. The fast pass (`_CLASSIFY_ROWS`) does not
# probe for them: the primary key does, during the INSERT. Only if the INSERT meets one (the chunk
# repeats a stored goal id, which is rare) is the fast pass rolled back to its savepoint and the chunk
# classified again with `_CLASSIFY_ROWS_CHECKING_STORED_IDS` (one more branch), exact in every case: a
# stored duplicate must not win an overlap against a later row of its chunk. (ON CONFLICT DO NOTHING
# and a count of the rows written would find them too, but its speculative insertion makes every
# insert dearer than the probe saves.)
_CLASSIFY_ROWS = """
UPDATE goal_upload_staging s
SET verdict = CASE
        WHEN s.error IS NOT NULL THEN s.error
        WHEN s.expires_at <= s.starts_at THEN 'invalid_period'
        WHEN NOT EXISTS (
            SELECT 1 FROM selection_upload_progresses p
            WHERE p.table_address = $1 AND p.selection_id = s.selection_id
        ) THEN 'unknown_selection'
        WHEN s.repeated THEN 'duplicate_goal_id'
        WHEN EXISTS (
            SELECT 1 FROM goal_upload_skips k WHERE k.table_address = $1 AND k.goal_id = s.goal_id OFFSET 0
        ) THEN 'duplicate_goal_id'
        WHEN EXISTS (
            SELECT 1 FROM goals g
            WHERE g.yandex_uid = s.yandex_uid AND g.application = s.application
              AND g.starts_at < s.expires_at AND s.starts_at < g.expires_at
            OFFSET 0
        ) THEN CASE  -- a stored goal id is a duplicate first (a probe for overlapping rows only)
            WHEN EXISTS (SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0) THEN 'duplicate_goal_id'
            ELSE 'overlap'
        END
    END
WHERE (CASE
        WHEN s.error IS NOT NULL THEN s.error
        WHEN s.expires_at <= s.starts_at THEN 'invalid_period'
        WHEN NOT EXISTS (
            SELECT 1 FROM selection_upload_progresses p
            WHERE p.table_address = $1 AND p.selection_id = s.selection_id
        ) THEN 'unknown_selection'
        WHEN s.repeated THEN 'duplicate_goal_id'
        WHEN EXISTS (
            SELECT 1 FROM goal_upload_skips k WHERE k.table_address = $1 AND k.goal_id = s.goal_id OFFSET 0
        ) THEN 'duplicate_goal_id'
        WHEN EXISTS (
            SELECT 1 FROM goals g
            WHERE g.yandex_uid = s.yandex_uid AND g.application = s.application
              AND g.starts_at < s.expires_at AND s.starts_at < g.expires_at
            OFFSET 0
        ) THEN CASE  -- a stored goal id is a duplicate first (a probe for overlapping rows only)
            WHEN EXISTS (SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0) THEN 'duplicate_goal_id'
            ELSE 'overlap'
        END
    END) IS NOT NULL
"""
_CLASSIFY_ROWS_CHECKING_STORED_IDS = """
UPDATE goal_upload_staging s
SET verdict = CASE
        WHEN s.error IS NOT NULL THEN s.error
        WHEN s.expires_at <= s.starts_at THEN 'invalid_period'
        WHEN NOT EXISTS (
            SELECT 1 FROM selection_upload_progresses p
            WHERE p.table_address = $1 AND p.selection_id = s.selection_id
        ) THEN 'unknown_selection'
        WHEN s.repeated THEN 'duplicate_goal_id'
        WHEN EXISTS (SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0) THEN 'duplicate_goal_id'
        WHEN EXISTS (
            SELECT 1 FROM goal_upload_skips k WHERE k.table_address = $1 AND k.goal_id = s.goal_id OFFSET 0
        ) THEN 'duplicate_goal_id'
        WHEN EXISTS (
            SELECT 1 FROM goals g
            WHERE g.yandex_uid = s.yandex_uid AND g.application = s.application
              AND g.starts_at < s.expires_at AND s.starts_at < g.expires_at
            OFFSET 0
        ) THEN CASE  -- a stored goal id is a duplicate first (a probe for overlapping rows only)
            WHEN EXISTS (SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0) THEN 'duplicate_goal_id'
            ELSE 'overlap'
        END
    END
WHERE (CASE
        WHEN s.error IS NOT NULL THEN s.error
        WHEN s.expires_at <= s.starts_at THEN 'invalid_period'
        WHEN NOT EXISTS (
            SELECT 1 FROM selection_upload_progresses p
            WHERE p.table_address = $1 AND p.selection_id = s.selection_id
        ) THEN 'unknown_selection'
        WHEN s.repeated THEN 'duplicate_goal_id'
        WHEN EXISTS (SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0) THEN 'duplicate_goal_id'
        WHEN EXISTS (
            SELECT 1 FROM goal_upload_skips k WHERE k.table_address = $1 AND k.goal_id = s.goal_id OFFSET 0
        ) THEN 'duplicate_goal_id'
        WHEN EXISTS (
            SELECT 1 FROM goals g
            WHERE g.yandex_uid = s.yandex_uid AND g.application = s.application
              AND g.starts_at < s.expires_at AND s.starts_at < g.expires_at
            OFFSET 0
        ) THEN CASE  -- a stored goal id is a duplicate first (a probe for overlapping rows only)
            WHEN EXISTS (SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0) THEN 'duplicate_goal_id'
            ELSE 'overlap'
        END
    END) IS NOT NULL
"""

# Overlaps among rows of the same chunk: the earlier row wins, but only if it is loaded itself
# (A overlaps B overlaps C, A and C apart → A and C load, B is skipped), so which rows load is decided
# row after row (`domain.overlaps`). This statement finds the rows that need deciding: every row still
# in the running of an owner (user + application) two of whose rows overlap. The window compares each
# row with the latest end among the owner's rows that start before it: one sort of the chunk, whatever
# the overlaps (usually none, and nothing is returned).
_CONTESTED_ROWS = """
WITH running AS (
    SELECT row_index, yandex_uid, application, starts_at, expires_at,
           max(expires_at) OVER (
               PARTITION BY yandex_uid, application ORDER BY starts_at, row_index
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ) AS latest_earlier_end
    FROM goal_upload_staging
    WHERE verdict IS NULL
), contested_owners AS (
    SELECT DISTINCT yandex_uid, application FROM running WHERE latest_earlier_end > starts_at
)
SELECT r.row_index, r.yandex_uid, r.application, r.starts_at, r.expires_at
FROM running r JOIN contested_owners o USING (yandex_uid, application)
"""
# A rejected row whose goal id is stored already is a duplicate first, as in classification (the fast
# pass leaves stored ids to the INSERT, which never sees a rejected row).
_REJECT_OVERLAPPING = """
UPDATE goal_upload_staging s SET verdict = CASE
    WHEN EXISTS (SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0) THEN 'duplicate_goal_id'
    ELSE 'overlap'
END
FROM unnest($1::bigint[]) AS rejected(row_index)
WHERE s.row_index = rejected.row_index
"""

# The trigger's lock (see migration 0002): the same key, derived from the schema `goals` lives in.
_LOCK_GOAL_WRITERS = """
SELECT pg_advisory_xact_lock(hashtextextended(n.nspname || '.goals_no_overlap', 0))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = 'goals'::regclass
"""

_INSERT_GOALS = """
INSERT INTO goals (goal_id, selection_id, yandex_uid, application, conditions, bonus, starts_at, expires_at)
SELECT goal_id, selection_id, yandex_uid, application, conditions, bonus, starts_at, expires_at
FROM goal_upload_staging WHERE verdict IS NULL
"""
_INSERT_SKIPS = """
INSERT INTO goal_upload_skips (table_address, row_index, goal_id, selection_id, reason)
SELECT $1, row_index, goal_id, selection_id, verdict FROM goal_upload_staging WHERE verdict IS NOT NULL
"""
_COUNTS_PER_SELECTION = """
SELECT selection_id,
       count(*) FILTER (WHERE verdict IS NULL) AS loaded,
       count(*) FILTER (WHERE verdict IS NOT NULL) AS skipped
FROM goal_upload_staging WHERE selection_id IS NOT NULL
GROUP BY selection_id
"""


@dataclass(frozen=True)
class SelectionChunkCounts:
    selection_id: str
    loaded: int
    skipped: int


def chunk_csv(chunk: pa.Table) -> bytes:
    """The chunk as CSV for COPY (pyarrow writes it in C++; nulls become unquoted empty fields,
    which COPY reads as NULL, while empty strings are quoted and stay empty strings).

    Rows are written in (yandex_uid, application) order so the index probes and inserts walk the
    owner index in key order (fewer pages to bring into the buffer cache once `goals` outgrows it).
    Which row wins an overlap is decided by `row_index`, never by this physical order."""
    chunk = chunk.append_column("repeated", _repeated(chunk.column("goal_id"), chunk.column("row_index")))
    chunk = chunk.sort_by([("yandex_uid", "ascending"), ("application", "ascending")])
    sink = io.BytesIO()
    pa_csv.write_csv(chunk.select(list(_STAGING_COLUMNS)), sink, pa_csv.WriteOptions(include_header=False))
    return sink.getvalue()


def _repeated(goal_ids: pa.ChunkedArray, row_indexes: pa.ChunkedArray) -> pa.Array:
    """True for a row whose goal id an earlier row (lower row_index) of the chunk has (computed here,
    on the worker's side of the pipeline, rather than by a window function in the chunk's
    transaction). A missing goal id is never a repeat: that row is malformed."""
    if len(goal_ids) < 2:
        return pa.array([False] * len(goal_ids), pa.bool_())
    order = pc.sort_indices(
        pa.table({"goal_id": goal_ids, "row_index": row_indexes}),
        sort_keys=[("goal_id", "ascending"), ("row_index", "ascending")],
    )
    ids = pc.take(goal_ids, order)
    same_as_previous = pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1)).fill_null(False)
    in_order = pa.concat_arrays([pa.array([False]), same_as_previous.combine_chunks()])
    return pc.take(in_order, pc.sort_indices(order))  # back from sorted order to the chunk's order


@dataclass(frozen=True)
class StagedGoal:
    """A row of the chunk still in the running, as the in-chunk overlap decision needs it."""

    row_index: int
    owner: tuple[str, str]  # (yandex_uid, application)
    starts_at: datetime
    expires_at: datetime


async def stage_chunk(conn: asyncpg.Connection, chunk_csv_bytes: bytes) -> None:
    """COPY the chunk into the staging table and take the goal writers' lock (see the module doc)."""
    await conn.execute(_CREATE_STAGING)
    # JIT compilation costs more than these short statements run (tens of ms per statement).
    await conn.execute("SET LOCAL jit = off")
    await conn.copy_to_table(
        "goal_upload_staging",
        source=io.BytesIO(chunk_csv_bytes),
        columns=list(_STAGING_COLUMNS),
        format="csv",
    )
    # Losing this chunk's commit on a server crash is harmless: its progress row is lost with it,
    # so the upload resumes at the chunk. Not waiting for the WAL flush saves a sync per chunk.
    await conn.execute("SET LOCAL synchronous_commit = off")
    # From here to our commit no other goal writer commits: the classification below is exact.
    await conn.execute(_LOCK_GOAL_WRITERS)
    await conn.execute("SET LOCAL personal_goals.overlaps_prechecked = on")


async def classify_rows(conn: asyncpg.Connection, table_address: str, *, check_stored_ids: bool) -> None:
    statement = _CLASSIFY_ROWS_CHECKING_STORED_IDS if check_stored_ids else _CLASSIFY_ROWS
    await conn.execute(statement, table_address)


async def contested_rows(conn: asyncpg.Connection) -> list[StagedGoal]:
    rows = await conn.fetch(_CONTESTED_ROWS)
    return [
        StagedGoal(r["row_index"], (r["yandex_uid"], r["application"]), r["starts_at"], r["expires_at"])
        for r in rows
    ]


async def reject_overlapping(conn: asyncpg.Connection, row_indexes: list[int]) -> None:
    await conn.execute(_REJECT_OVERLAPPING, row_indexes)


async def insert_goals(conn: asyncpg.Connection) -> None:
    """Raises UniqueViolationError when a goal id is stored already (see `_CLASSIFY_ROWS`)."""
    await conn.execute(_INSERT_GOALS)


async def record_skips(conn: asyncpg.Connection, table_address: str) -> list[SelectionChunkCounts]:
    """Store the skipped rows; returns loaded/skipped counts per selection of the chunk."""
    await conn.execute(_INSERT_SKIPS, table_address)
    rows = await conn.fetch(_COUNTS_PER_SELECTION)
    return [SelectionChunkCounts(r["selection_id"], r["loaded"], r["skipped"]) for r in rows]
