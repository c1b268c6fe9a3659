"""Loading one canonical chunk of a dataset into `goals`, set-based, inside the caller's transaction.

Per chunk: COPY the rows into a temp staging table, classify them with a few set-based statements
(malformed, duplicate goal id, overlap with stored goals, overlap with earlier rows of the chunk),
then INSERT … SELECT the survivors and record the skipped rows. No statement runs per row.

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

import asyncpg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from personal_goals.domain.upload import REASON_DUPLICATE_GOAL_ID, REASON_INVALID_PERIOD, REASON_OVERLAP

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
    verdict text
) ON COMMIT DELETE ROWS
"""

# Every verdict that needs no comparison between rows of the chunk, in one pass. A row that is not
# skipped keeps verdict NULL (it is not rewritten: most rows load, and rewriting each staging row
# costs about as much as an index probe). CASE stops at the first true branch, so the index probes
# only run for rows still in the running; separate branches, not one OR, each an index probe per
# row. `OFFSET 0` keeps each EXISTS a per-row index probe: without it the planner may turn it into a
# hashed subplan that reads all of `goals` for every chunk (quadratic over an upload).
#
# Goal ids already stored are found in one of two ways. The fast pass does not probe for them: the
# primary key does, during the INSERT. Only if the INSERT meets one (the chunk repeats a stored goal
# id, which is rare) is the fast pass rolled back to its savepoint and the chunk classified again
# with `_CLASSIFY_CHECKING_STORED_IDS`, exact in every case: a stored duplicate must not win an
# overlap against a later row of its chunk. (ON CONFLICT DO NOTHING and a count of the rows written
# would find them too, but its speculative insertion makes every insert dearer than the probe saves.)
_VERDICT = """CASE
        WHEN s.error IS NOT NULL THEN s.error
        WHEN s.expires_at <= s.starts_at THEN '{invalid_period}'
        WHEN NOT EXISTS (
            SELECT 1 FROM selection_upload_progresses p
            WHERE p.table_address = $1 AND p.selection_id = s.selection_id
        ) THEN 'unknown_selection'
        WHEN s.repeated THEN '{duplicate}'
{stored_ids}        WHEN EXISTS (
            SELECT 1 FROM goal_upload_skips k WHERE k.table_address = $1 AND k.goal_id = s.goal_id OFFSET 0
        ) THEN '{duplicate}'
        WHEN EXISTS (
            SELECT 1 FROM goals g
            WHERE g.yandex_uid = s.yandex_uid AND g.application = s.application
              AND g.starts_at < s.expires_at AND s.starts_at < g.expires_at
            OFFSET 0
        ) THEN CASE  -- a stored goal id is a duplicate first (a probe for overlapping rows only)
            WHEN EXISTS (SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0) THEN '{duplicate}'
            ELSE '{overlap}'
        END
    END"""
# The verdict is computed in WHERE for every row and again in SET for the few rows it skips: cheaper
# than joining the staging table to itself.
_CLASSIFY_TEMPLATE = f"""
UPDATE goal_upload_staging s SET verdict = {_VERDICT} WHERE ({_VERDICT}) IS NOT NULL
"""
_STORED_ID_PROBE = f"""        WHEN EXISTS (
            SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0
        ) THEN '{REASON_DUPLICATE_GOAL_ID}'
"""
_REASONS = {
    "duplicate": REASON_DUPLICATE_GOAL_ID,
    "invalid_period": REASON_INVALID_PERIOD,
    "overlap": REASON_OVERLAP,
}
_CLASSIFY_ROWS = _CLASSIFY_TEMPLATE.format(stored_ids="", **_REASONS)
_CLASSIFY_CHECKING_STORED_IDS = _CLASSIFY_TEMPLATE.format(stored_ids=_STORED_ID_PROBE, **_REASONS)

# Overlaps among rows of the same chunk: the earlier row wins, but only if it is loaded itself
# (A overlaps B overlaps C, A and C apart → A and C load, B is skipped). Usually no two rows of a
# chunk overlap (`_CONTESTED` says so in one pass) and every row with verdict NULL loads. Otherwise
# the rows are decided in rounds, each set-based: accept rows no earlier undecided-or-accepted row
# overlaps, then reject rows an accepted earlier row overlaps. The earliest undecided row is always
# accepted, so the rounds terminate; with realistic data two rounds decide everything.
_OVERLAPS_EARLIER = """
    SELECT 1 FROM goal_upload_staging e
    WHERE e.yandex_uid = s.yandex_uid AND e.application = s.application AND e.row_index < s.row_index
      AND e.starts_at < s.expires_at AND s.starts_at < e.expires_at
"""
_CONTESTED = f"""
SELECT EXISTS (
    SELECT 1 FROM goal_upload_staging s
    WHERE s.verdict IS NULL AND EXISTS ({_OVERLAPS_EARLIER} AND e.verdict IS NULL)
)
"""
_ACCEPT_ROUND = f"""
UPDATE goal_upload_staging s SET verdict = 'accept'
WHERE s.verdict IS NULL
  AND NOT EXISTS ({_OVERLAPS_EARLIER} AND (e.verdict IS NULL OR e.verdict = 'accept'))
"""
# A rejected row whose goal id is stored already is a duplicate first, as in classification (the fast
# pass leaves stored ids to the INSERT, which never sees a rejected row).
_REJECT_ROUND = f"""
UPDATE goal_upload_staging s SET verdict = CASE
    WHEN EXISTS (SELECT 1 FROM goals g WHERE g.goal_id = s.goal_id OFFSET 0) THEN '{REASON_DUPLICATE_GOAL_ID}'
    ELSE '{REASON_OVERLAP}'
END
WHERE s.verdict IS NULL AND EXISTS ({_OVERLAPS_EARLIER} AND e.verdict = 'accept')
"""
_UNDECIDED = "SELECT count(*) FROM goal_upload_staging WHERE verdict IS NULL"

# The trigger's lock (see migration 0002): the same key, derived from the schema `goals` lives in.
_LOCK_GOAL_WRITERS = """
SELECT pg_advisory_xact_lock(hashtextextended(n.nspname || '.goals_no_overlap', 0))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = 'goals'::regclass
"""

_INSERT_GOALS = """
INSERT INTO goals (goal_id, selection_id, yandex_uid, application, conditions, bonus, starts_at, expires_at)
SELECT goal_id, selection_id, yandex_uid, application, conditions, bonus, starts_at, expires_at
FROM goal_upload_staging WHERE verdict IS NULL OR verdict = 'accept'
"""
_INSERT_SKIPS = """
INSERT INTO goal_upload_skips (table_address, row_index, goal_id, selection_id, reason)
SELECT $1, row_index, goal_id, selection_id, verdict FROM goal_upload_staging WHERE verdict <> 'accept'
"""
_COUNTS_PER_SELECTION = """
SELECT selection_id,
       count(*) FILTER (WHERE verdict IS NULL OR verdict = 'accept') AS loaded,
       count(*) FILTER (WHERE verdict <> 'accept') AS skipped
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


async def load_chunk(
    conn: asyncpg.Connection, table_address: str, chunk_csv_bytes: bytes
) -> list[SelectionChunkCounts]:
    """Load one chunk (see module doc); returns loaded/skipped counts per selection of the chunk."""
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
    try:
        async with conn.transaction():  # a savepoint: the fast pass is undone if it meets a stored id
            await _classify_and_insert(conn, table_address, _CLASSIFY_ROWS)
    except asyncpg.UniqueViolationError:
        await _classify_and_insert(conn, table_address, _CLASSIFY_CHECKING_STORED_IDS)
    await conn.execute(_INSERT_SKIPS, table_address)
    rows = await conn.fetch(_COUNTS_PER_SELECTION)
    return [SelectionChunkCounts(r["selection_id"], r["loaded"], r["skipped"]) for r in rows]


async def _classify_and_insert(conn: asyncpg.Connection, table_address: str, classify: str) -> None:
    await conn.execute(classify, table_address)
    if await conn.fetchval(_CONTESTED):
        while await conn.fetchval(_UNDECIDED):
            await conn.execute(_ACCEPT_ROUND)
            await conn.execute(_REJECT_ROUND)
    await conn.execute(_INSERT_GOALS)
