"""SQL of matchings and their status transitions.

A driver's profiles arrive as two parallel arrays (park ids, driver ids) and are joined with
`unnest`, so one statement serves any number of linked profiles or imported rows.

Every statement that changes a status ends with `_recorded`: the moved matchings' transitions and
their `matching-changed` events are written by the same statement (an import moves 5,000 matchings a
statement; building 5,000 events in Python cost more than the update).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias

import asyncpg

from quintet_contracts.contractor_mentorship import MATCHING_CHANGED
from quintet_messaging import current_request_id, events_insert_sql

DriverKey = tuple[str, str]
Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool


# The `MatchingChanged` payload of a moved row (parsed with the contract by the tests). Concatenated
# rather than json_build_object (cheaper at 10,000 rows a statement): ids go through to_json
# (escaping); statuses are fixed words (the table's CHECK) and the id a uuid.
_PAYLOAD = """
    '{"matching_id":"' || id || '","from":' || coalesce('"' || from_status || '"', 'null')
    || ',"to":"' || status || '","newbie":{"park_id":' || to_json(newbie_park_id)::text
    || ',"driver_id":' || to_json(newbie_driver_id)::text || '},"mentor":'
    || CASE WHEN mentor_park_id IS NULL THEN 'null'
            ELSE '{"park_id":' || to_json(mentor_park_id)::text
                 || ',"driver_id":' || to_json(mentor_driver_id)::text || '}' END
    || '}'
"""


def _recorded(request_id_param: str, steps: str = "moved", result: str = "SELECT * FROM moved") -> str:
    """SQL continuing `WITH moved AS (...)`, `moved` being the changed matchings as they are now with
    their previous status as `from_status`: each step (by default each moved row; or the rows of the
    CTE `steps`, same columns, in order) gets its transition and its event; the statement then
    answers `result` (by default the moved rows)."""
    return f"""
    , transitions AS (
        INSERT INTO status_transitions (matching_id, from_status, to_status)
        SELECT id, from_status, status FROM {steps}
    ), events AS ({events_insert_sql(MATCHING_CHANGED, steps, _PAYLOAD, request_id_param)})
    {result}
    """


def _columns(keys: Sequence[DriverKey]) -> tuple[list[str], list[str]]:
    return [k[0] for k in keys], [k[1] for k in keys]


async def get(conn: Executor, matching_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM matchings WHERE id = $1", matching_id)


async def lock(conn: asyncpg.Connection, matching_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM matchings WHERE id = $1 FOR UPDATE", matching_id)


async def by_newbie(conn: Executor, unique_driver_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM matchings WHERE newbie_unique_driver_id = $1", unique_driver_id)


async def insert(
    conn: asyncpg.Connection, matching_id: uuid.UUID, newbie: DriverKey, unique_driver_id: str
) -> asyncpg.Record | None:
    """The new matching (recorded as `created`), or None when the person already has one (the
    unique key decides)."""
    return await conn.fetchrow(
        f"""
        WITH moved AS (
            INSERT INTO matchings (id, newbie_park_id, newbie_driver_id, newbie_unique_driver_id)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (newbie_unique_driver_id) DO NOTHING
            RETURNING *, NULL::text AS from_status
        ) {_recorded("$5")}
        """,
        matching_id,
        newbie[0],
        newbie[1],
        unique_driver_id,
        current_request_id(),
    )


async def is_mentor(conn: Executor, keys: Sequence[DriverKey]) -> bool:
    parks, drivers = _columns(keys)
    return bool(
        await conn.fetchval(
            """
            SELECT EXISTS (
                SELECT 1
                FROM unnest($1::text[], $2::text[]) AS profile (park_id, driver_id)
                JOIN matchings m
                  ON m.mentor_park_id = profile.park_id AND m.mentor_driver_id = profile.driver_id
            )
            """,
            parks,
            drivers,
        )
    )


async def of_mentor(
    conn: Executor, keys: Sequence[DriverKey], statuses: Sequence[str]
) -> list[asyncpg.Record]:
    parks, drivers = _columns(keys)
    return list(
        await conn.fetch(
            """
            SELECT m.*
            FROM unnest($1::text[], $2::text[]) AS profile (park_id, driver_id)
            JOIN matchings m
              ON m.mentor_park_id = profile.park_id AND m.mentor_driver_id = profile.driver_id
            WHERE m.status = ANY($3::text[])
            ORDER BY m.matched_at, m.id
            """,
            parks,
            drivers,
            list(statuses),
        )
    )


async def transitions_of(conn: Executor, matching_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """
            SELECT id, matching_id, created_at, from_status, to_status
            FROM status_transitions WHERE matching_id = ANY($1::uuid[])
            ORDER BY matching_id, id
            """,
            list(matching_ids),
        )
    )


async def results_of(conn: Executor, matching_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT * FROM results WHERE matching_id = ANY($1::uuid[]) ORDER BY matching_id, stage",
            list(matching_ids),
        )
    )


async def advance(
    conn: asyncpg.Connection, matching_ids: Sequence[uuid.UUID], from_status: str, to_status: str
) -> list[asyncpg.Record]:
    """Move the matchings still in `from_status` to `to_status` (recorded); the rows that moved."""
    return list(
        await conn.fetch(
            f"""
            WITH moved AS (
                UPDATE matchings SET status = $3
                WHERE id = ANY($1::uuid[]) AND status = $2
                RETURNING *, $2::text AS from_status
            ) {_recorded("$4")}
            """,
            list(matching_ids),
            from_status,
            to_status,
            current_request_id(),
        )
    )


async def set_request_failure(conn: asyncpg.Connection, matching_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        "UPDATE matchings SET request_failure = $2 WHERE id = $1 AND status = 'created'",
        matching_id,
        reason[:1000],
    )


async def waiting_for_crm(conn: Executor, newbie_unique_ids: Sequence[str]) -> list[asyncpg.Record]:
    """The matchings of these newbies still waiting for the CRM (`created` or `requested`): their id
    and the newbie's profile and unique id."""
    return list(
        await conn.fetch(
            """
            SELECT m.id, m.newbie_park_id, m.newbie_driver_id, m.newbie_unique_driver_id
            FROM unnest($1::text[]) AS person (unique_driver_id)
            JOIN matchings m ON m.newbie_unique_driver_id = person.unique_driver_id
            WHERE m.status IN ('created', 'requested')
            """,
            list(newbie_unique_ids),
        )
    )


async def match_and_initialize(
    conn: asyncpg.Connection,
    matching_ids: Sequence[uuid.UUID],
    mentors: Sequence[DriverKey],
    connected: Sequence[datetime],
) -> int:
    """These matchings, if still waiting for the CRM, get their mentor and become `matched`, then
    (both drivers having been told) `initialized`: one update of each row, both steps recorded in
    order (a transition and an event each). How many moved. Runs in the caller's transaction."""
    mentor_parks, mentor_drivers = _columns(mentors)
    # By primary key, row by row: for a chunk of 5,000 ids the planner hashes the whole table, twice
    # (a cost growing with the table; 377 -> 299 ms a chunk over 100,000 matchings without).
    await conn.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
    return int(
        await conn.fetchval(
            f"""
            WITH imported AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
                    AS row (id, mentor_park_id, mentor_driver_id, connected_dttm)
            ),
            waiting AS (
                SELECT m.id, m.status AS from_status, imported.mentor_park_id, imported.mentor_driver_id,
                    imported.connected_dttm
                FROM imported
                JOIN matchings m ON m.id = imported.id
                WHERE m.status IN ('created', 'requested')
                FOR UPDATE OF m
            ),
            moved AS (
                UPDATE matchings m
                SET status = 'initialized',
                    mentor_park_id = waiting.mentor_park_id,
                    mentor_driver_id = waiting.mentor_driver_id,
                    matched_at = waiting.connected_dttm,
                    original_connected_dttm = waiting.connected_dttm,
                    request_failure = NULL
                FROM waiting
                WHERE m.id = waiting.id
                RETURNING m.*, waiting.from_status
            ),
            steps AS (
                SELECT id, from_status, 'matched'::text AS status,
                    newbie_park_id, newbie_driver_id, mentor_park_id, mentor_driver_id
                FROM moved
                UNION ALL
                SELECT id, 'matched', status,
                    newbie_park_id, newbie_driver_id, mentor_park_id, mentor_driver_id
                FROM moved
            ) {_recorded("$5", "steps", "SELECT count(*) FROM moved")}
            """,
            list(matching_ids),
            mentor_parks,
            mentor_drivers,
            list(connected),
            current_request_id(),
        )
    )


async def participating_since(
    conn: Executor, status: str, matched_before: datetime, *, limit: int, after: uuid.UUID | None
) -> list[asyncpg.Record]:
    """Matchings in `status` matched at or before `matched_before` (keyset by id)."""
    return list(
        await conn.fetch(
            """
            SELECT * FROM matchings
            WHERE status = $1 AND matched_at <= $2 AND ($4::uuid IS NULL OR id > $4)
            ORDER BY id LIMIT $3
            """,
            status,
            matched_before,
            limit,
            after,
        )
    )


async def mark_read(conn: Executor, matching_id: uuid.UUID, role: str) -> None:
    """The reader's mark in the database's clock, the clock message times come from."""
    if role == "newbie":
        await conn.execute("UPDATE matchings SET newbie_last_read_at = now() WHERE id = $1", matching_id)
    else:
        await conn.execute("UPDATE matchings SET mentor_last_read_at = now() WHERE id = $1", matching_id)


async def complete_succeed(
    conn: asyncpg.Connection, matching_ids: Sequence[uuid.UUID], promocodes: Sequence[str]
) -> list[asyncpg.Record]:
    """`finished` matchings with a promocode become `succeed` (recorded); the rows that moved."""
    return list(
        await conn.fetch(
            f"""
            WITH moved AS (
                UPDATE matchings m
                SET status = 'succeed', mentor_promocode = issued.promocode, completed_at = now()
                FROM unnest($1::uuid[], $2::text[]) AS issued (id, promocode)
                WHERE m.id = issued.id AND m.status = 'finished'
                RETURNING m.*, 'finished'::text AS from_status
            ) {_recorded("$3")}
            """,
            list(matching_ids),
            list(promocodes),
            current_request_id(),
        )
    )


async def fail_overdue(
    conn: asyncpg.Connection, matched_before: datetime, spared: Sequence[uuid.UUID]
) -> list[asyncpg.Record]:
    """`finished` matchings matched before `matched_before` and not in `spared` become `failed`
    (recorded); the rows that moved."""
    return list(
        await conn.fetch(
            f"""
            WITH moved AS (
                UPDATE matchings
                SET status = 'failed', completed_at = now()
                WHERE status = 'finished' AND matched_at < $1 AND NOT (id = ANY($2::uuid[]))
                RETURNING *, 'finished'::text AS from_status
            ) {_recorded("$3")}
            """,
            matched_before,
            list(spared),
            current_request_id(),
        )
    )


async def page(
    conn: Executor,
    *,
    status: str | None,
    park_id: str | None,
    driver_id: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Matchings newest first, filtered (a park/driver matches the newbie's or the mentor's), keyset."""
    return list(
        await conn.fetch(
            """
            SELECT * FROM matchings
            WHERE ($1::text IS NULL OR status = $1)
              AND ($2::text IS NULL OR newbie_park_id = $2 OR mentor_park_id = $2)
              AND ($3::text IS NULL OR newbie_driver_id = $3 OR mentor_driver_id = $3)
              AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT $6
            """,
            status,
            park_id,
            driver_id,
            after[0] if after else None,
            after[1] if after else None,
            limit,
        )
    )
