"""A user's memberships: atomic updates, the hot read, registration (rollouts cover known users), and
the TTL expiry. Each function is one transaction (the read: one statement)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from quintet_runtime import current_request_id
from segments.domain.errors import SegmentsNotFound
from segments.domain.model import Registration
from segments.domain.rules import MembershipChange
from segments.storage import memberships as memberships_sql
from segments.storage import segments as segments_sql


async def user_segments(pool: asyncpg.Pool, user_id: int) -> list[str]:
    """The hot read: one prepared statement on a pooled connection, no transaction."""
    return await memberships_sql.active_slugs(pool, user_id)


async def update_user(pool: asyncpg.Pool, user_id: int, change: MembershipChange) -> list[str]:
    """Atomic: every slug must name a live segment or nothing changes. The user row lock serialises
    concurrent updates of one user, and the primary key of `memberships` keeps one membership."""
    request_id = current_request_id()
    async with pool.acquire() as conn, conn.transaction():
        # Rollout lock before the segment rows: segment deletion takes them in the same order.
        await segments_sql.lock_rollouts_shared(conn)
        segments = await segments_sql.segments_by_slug_for_share(conn, change.slugs)
        missing = [s for s in change.slugs if s not in segments or segments[s].deleted_at is not None]
        if missing:
            raise SegmentsNotFound(missing)
        await memberships_sql.register_users(conn, "SELECT $1::bigint AS user_id", [user_id], request_id)
        await memberships_sql.lock_user(conn, user_id)
        # A membership past its TTL ends first (stamped at its expiry), so an add after it starts a
        # new membership and a delete of it is a no-op, exactly as GET already shows it.
        await memberships_sql.expire_memberships(conn, request_id, user_id)
        if change.to_add:
            await memberships_sql.add_memberships(
                conn,
                user_id,
                [segments[a.slug].id for a in change.to_add],
                [a.expires_at for a in change.to_add],
                request_id,
            )
        if change.to_delete:
            await memberships_sql.delete_memberships(
                conn, user_id, [segments[s].id for s in change.to_delete], request_id
            )
        return await memberships_sql.active_slugs(conn, user_id)


async def register_users(pool: asyncpg.Pool, user_ids: Sequence[int]) -> Registration:
    """COPY into a temporary table, then one statement inserts the new users and their rollout
    memberships (history and events included)."""
    async with pool.acquire() as conn, conn.transaction():
        await memberships_sql.stage_users(conn, user_ids)
        await segments_sql.lock_rollouts_shared(conn)
        return await memberships_sql.register_users(
            conn, "SELECT user_id FROM staged_users", [], current_request_id()
        )


async def expire_memberships(pool: asyncpg.Pool) -> int:
    """The periodic sweep: memberships past their TTL end, stamped at their expiry."""
    async with pool.acquire() as conn, conn.transaction():
        return await memberships_sql.expire_memberships(conn, current_request_id())


def utc_now() -> datetime:
    return datetime.now(UTC)
