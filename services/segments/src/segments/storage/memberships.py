"""SQL of memberships. Every statement that starts or ends memberships records them (history +
outbox events) in the same statement through `record_changes`; none loops over users in Python.

Changes are stamped with `statement_timestamp()`, not `now()` (the transaction's start): a change
that waited for the user's row lock or the rollout lock must be stamped after the change it waited
for, or the history would order them the wrong way round and disagree with GET."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import asyncpg

from segments.domain.model import HistoryEntry, Registration
from segments.storage.recording import record_changes

ACTIVE_SLUGS = """
SELECT s.slug FROM memberships m JOIN segments s ON s.id = m.segment_id
WHERE m.user_id = $1 AND (m.expires_at IS NULL OR m.expires_at > now()) AND s.deleted_at IS NULL
ORDER BY s.slug
"""


async def active_slugs(conn: asyncpg.Connection | asyncpg.Pool, user_id: int) -> list[str]:
    """The hot read: one indexed query (asyncpg caches it as a prepared statement per connection).
    Expired-but-not-yet-swept memberships are filtered here, so the sweep's delay is never visible."""
    return [row[0] for row in await conn.fetch(ACTIVE_SLUGS, user_id)]


async def stage_users(conn: asyncpg.Connection, user_ids: Sequence[int]) -> None:
    """The ids into `staged_users`, a temporary table dropped at commit (COPY: one round trip)."""
    await conn.execute("CREATE TEMPORARY TABLE staged_users (user_id bigint NOT NULL) ON COMMIT DROP")
    await conn.copy_records_to_table("staged_users", records=[(u,) for u in user_ids], columns=["user_id"])


async def register_users(
    conn: asyncpg.Connection, source_sql: str, args: Sequence[object], request_id: str | None
) -> Registration:
    """Insert the users of `source_sql` (a query yielding `user_id`) that are new, and the rollout
    memberships of every live rollout segment they fall into; returns (new users, memberships)."""
    rid = f"${len(args) + 1}"
    row = await conn.fetchrow(
        f"""
        WITH new_users AS (
            -- In key order: concurrent registrations of overlapping ids then wait for each other
            -- in one order instead of deadlocking (hash-distinct order differs per call).
            INSERT INTO users (user_id) SELECT DISTINCT user_id FROM ({source_sql}) AS source
            ORDER BY user_id
            ON CONFLICT DO NOTHING RETURNING user_id
        ), added AS (
            INSERT INTO memberships (user_id, segment_id, source, started_at)
            SELECT n.user_id, s.id, 'rollout', statement_timestamp()
            FROM new_users n JOIN segments s
              ON s.deleted_at IS NULL AND s.rollout_buckets > 0
             AND rollout_bucket(s.salt, n.user_id) < s.rollout_buckets
            ON CONFLICT DO NOTHING RETURNING user_id, segment_id
        ), changed AS (
            SELECT a.user_id, a.segment_id, s.slug, 'add' AS operation, 'rollout' AS reason,
                   statement_timestamp() AS at
            FROM added a JOIN segments s ON s.id = a.segment_id
        ) {record_changes(rid, ", (SELECT count(*) FROM new_users)")}
        """,
        *args,
        request_id,
    )
    assert row is not None
    return Registration(registered=int(row[1]), rollout_memberships=int(row[0]))


async def lock_user(conn: asyncpg.Connection, user_id: int) -> None:
    """Serialises concurrent updates of one user: each sees the previous one's memberships."""
    await conn.execute("SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE", user_id)


async def grow_rollout(
    conn: asyncpg.Connection,
    segment_id: int,
    slug: str,
    salt: str,
    from_buckets: int,
    buckets: int,
    after_user_id: int,
    last_user_id: int,
    request_id: str | None,
) -> int:
    """Every user in (after_user_id, last_user_id] whose bucket is in the added range
    [from_buckets, buckets) and who has not opted out joins. Users of the range the rollout already
    covered are not looked at again: one who is not a member there left it (TTL, explicit delete)
    and stays out."""
    return int(
        await conn.fetchval(
            f"""
            WITH added AS (
                INSERT INTO memberships (user_id, segment_id, source, started_at)
                SELECT u.user_id, $1, 'rollout', statement_timestamp() FROM users u
                WHERE u.user_id > $7 AND u.user_id <= $8
                  AND int4range($6, $4) @> rollout_bucket($3, u.user_id)  -- [from, to): hashed once
                  AND NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.segment_id = $1 AND o.user_id = u.user_id)
                ON CONFLICT DO NOTHING RETURNING user_id
            ), changed AS (
                SELECT user_id, $1::bigint AS segment_id, $2::text AS slug, 'add' AS operation,
                       'rollout' AS reason, statement_timestamp() AS at
                FROM added
            ) {record_changes("$5")}
            """,
            segment_id,
            slug,
            salt,
            buckets,
            request_id,
            from_buckets,
            after_user_id,
            last_user_id,
        )
    )


async def shrink_rollout(
    conn: asyncpg.Connection, segment_id: int, slug: str, salt: str, buckets: int, request_id: str | None
) -> int:
    """Rollout memberships above the new size end; explicit ones stay."""
    return int(
        await conn.fetchval(
            f"""
            WITH removed AS (
                DELETE FROM memberships
                WHERE segment_id = $1 AND source = 'rollout' AND rollout_bucket($3, user_id) >= $4
                  AND (expires_at IS NULL OR expires_at > statement_timestamp())
                RETURNING user_id
            ), changed AS (
                SELECT user_id, $1::bigint AS segment_id, $2::text AS slug, 'delete' AS operation,
                       'rollout' AS reason, statement_timestamp() AS at
                FROM removed
            ) {record_changes("$5")}
            """,
            segment_id,
            slug,
            salt,
            buckets,
            request_id,
        )
    )


async def end_segment_memberships(
    conn: asyncpg.Connection, segment_id: int, slug: str, request_id: str | None
) -> int:
    """Every membership of a deleted segment ends now (or at its expiry, if that already passed)."""
    return int(
        await conn.fetchval(
            f"""
            WITH removed AS (
                DELETE FROM memberships WHERE segment_id = $1 RETURNING user_id, expires_at
            ), changed AS (
                SELECT user_id, $1::bigint AS segment_id, $2::text AS slug, 'delete' AS operation,
                       CASE WHEN expires_at <= statement_timestamp() THEN 'ttl'
                            ELSE 'segment_deleted' END AS reason,
                       least(expires_at, statement_timestamp()) AS at
                FROM removed
            ) {record_changes("$3")}
            """,
            segment_id,
            slug,
            request_id,
        )
    )


async def expire_memberships(
    conn: asyncpg.Connection,
    request_id: str | None,
    user_id: int | None = None,
    segment_id: int | None = None,
) -> int:
    """End memberships whose TTL passed, stamped at their expiry (all, one user's or one segment's)."""
    return int(
        await conn.fetchval(
            f"""
            WITH due AS (
                -- SKIP LOCKED: the sweep never waits for (or deadlocks with) a user update that is
                -- ending the same memberships; whichever commits first records the expiry.
                SELECT user_id, segment_id FROM memberships
                WHERE expires_at <= statement_timestamp() AND ($2::bigint IS NULL OR user_id = $2)
                  AND ($3::bigint IS NULL OR segment_id = $3)
                FOR UPDATE SKIP LOCKED
            ), removed AS (
                DELETE FROM memberships m USING due
                WHERE m.user_id = due.user_id AND m.segment_id = due.segment_id
                RETURNING m.user_id, m.segment_id, m.expires_at
            ), changed AS (
                SELECT r.user_id, r.segment_id, s.slug, 'delete' AS operation, 'ttl' AS reason,
                       r.expires_at AS at
                FROM removed r JOIN segments s ON s.id = r.segment_id
            ) {record_changes("$1")}
            """,
            request_id,
            user_id,
            segment_id,
        )
    )


async def add_memberships(
    conn: asyncpg.Connection,
    user_id: int,
    segment_ids: Sequence[int],
    expires_ats: Sequence[datetime | None],
    request_id: str | None,
) -> int:
    """Explicit adds: new memberships are recorded; an active one stays one membership, becomes
    explicit (a rollout shrink no longer ends it) and takes the TTL when one is given. The opt-outs
    of these segments end."""
    await conn.execute(
        "DELETE FROM opt_outs WHERE user_id = $1 AND segment_id = any($2::bigint[])",
        user_id,
        list(segment_ids),
    )
    return int(
        await conn.fetchval(
            f"""
            WITH upserted AS (
                INSERT INTO memberships (user_id, segment_id, source, started_at, expires_at)
                SELECT $1, v.segment_id, 'manual', statement_timestamp(), v.expires_at
                FROM unnest($2::bigint[], $3::timestamptz[]) AS v(segment_id, expires_at)
                ON CONFLICT (user_id, segment_id) DO UPDATE
                SET source = 'manual', expires_at = coalesce(EXCLUDED.expires_at, memberships.expires_at)
                RETURNING segment_id, (xmax = 0) AS inserted
            ), changed AS (
                SELECT $1::bigint AS user_id, u.segment_id, s.slug, 'add' AS operation, 'manual' AS reason,
                       statement_timestamp() AS at
                FROM upserted u JOIN segments s ON s.id = u.segment_id
                WHERE u.inserted
            ) {record_changes("$4")}
            """,
            user_id,
            list(segment_ids),
            list(expires_ats),
            request_id,
        )
    )


async def delete_memberships(
    conn: asyncpg.Connection, user_id: int, segment_ids: Sequence[int], request_id: str | None
) -> int:
    """Explicit deletes end the memberships the user has and opt the user out of these segments'
    rollouts (also of segments the user was not in, so a later percent growth skips the user)."""
    await conn.execute(
        """
        INSERT INTO opt_outs (user_id, segment_id) SELECT $1, unnest($2::bigint[])
        ON CONFLICT DO NOTHING
        """,
        user_id,
        list(segment_ids),
    )
    return int(
        await conn.fetchval(
            f"""
            WITH removed AS (
                DELETE FROM memberships WHERE user_id = $1 AND segment_id = any($2::bigint[])
                RETURNING segment_id
            ), changed AS (
                SELECT $1::bigint AS user_id, r.segment_id, s.slug, 'delete' AS operation, 'manual' AS reason,
                       statement_timestamp() AS at
                FROM removed r JOIN segments s ON s.id = r.segment_id
            ) {record_changes("$3")}
            """,
            user_id,
            list(segment_ids),
            request_id,
        )
    )


async def history(
    conn: asyncpg.Connection, user_id: int, start: datetime, end: datetime
) -> AsyncIterator[HistoryEntry]:
    """The user's history in [start, end) in time order, read through a cursor (in a transaction):
    a long history is never held in memory whole."""
    async for row in conn.cursor(
        """
        SELECT user_id, slug, operation, at FROM membership_history
        WHERE user_id = $1 AND at >= $2 AND at < $3 ORDER BY at, id
        """,
        user_id,
        start,
        end,
        prefetch=1000,
    ):
        yield HistoryEntry(row["user_id"], row["slug"], row["operation"], row["at"])
