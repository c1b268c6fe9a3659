"""Service functions: each opens the transaction for one use case and calls the storage steps.
State changes and their outbox events commit together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from quintet_contracts.segments import SEGMENT_CREATED, SEGMENT_DELETED, SegmentCreated, SegmentDeleted
from quintet_messaging import publish_event
from quintet_runtime import current_request_id
from segments.domain.rules import MembershipChange, percent_of
from segments.storage import memberships as memberships_sql
from segments.storage import segments as segments_sql


class SegmentExists(Exception):
    def __init__(self, slug: str) -> None:
        super().__init__(f"segment {slug} already exists (slugs of deleted segments are not reused)")
        self.slug = slug


class SegmentsNotFound(Exception):
    def __init__(self, slugs: Sequence[str]) -> None:
        super().__init__(f"unknown or deleted segments: {', '.join(slugs)}")
        self.slugs = list(slugs)


@dataclass(frozen=True)
class Segment:
    slug: str
    percent: float
    created_at: datetime


@dataclass(frozen=True)
class Registration:
    registered: int
    rollout_memberships: int


def _segment(row: asyncpg.Record) -> Segment:
    return Segment(row["slug"], percent_of(row["rollout_buckets"]), row["created_at"])


async def create_segment(pool: asyncpg.Pool, slug: str, buckets: int) -> tuple[Segment, int]:
    """The segment, and the rollout memberships it started (set-based, in the request: ~1 s per
    100,000 members, see the bench)."""
    async with pool.acquire() as conn, conn.transaction():
        if buckets > 0:
            await segments_sql.lock_rollouts_exclusive(conn)
        row = await segments_sql.insert_segment(conn, slug, buckets)
        if row is None:
            raise SegmentExists(slug)
        added = 0
        if buckets > 0:
            added = await memberships_sql.grow_rollout(
                conn, row["id"], slug, row["salt"], 0, buckets, current_request_id()
            )
        segment = _segment(row)
        await publish_event(
            conn,
            SEGMENT_CREATED,
            SegmentCreated(
                slug=slug, percent=segment.percent if buckets else None, created_at=row["created_at"]
            ),
        )
    return segment, added


async def change_rollout(pool: asyncpg.Pool, slug: str, buckets: int) -> Segment:
    """Sticky: the same salt, so growing keeps every member and shrinking keeps a subset."""
    async with pool.acquire() as conn, conn.transaction():
        await segments_sql.lock_rollouts_exclusive(conn)
        row = await segments_sql.live_segment_for_update(conn, slug)
        if row is None:
            raise SegmentsNotFound([slug])
        request_id = current_request_id()
        if buckets > row["rollout_buckets"]:
            # A membership whose TTL passed but is not swept yet would block a user of the added
            # range from joining: end those first, so the outcome never depends on the sweep's timing.
            await memberships_sql.expire_memberships(conn, request_id, segment_id=row["id"])
            await memberships_sql.grow_rollout(
                conn, row["id"], slug, row["salt"], row["rollout_buckets"], buckets, request_id
            )
        elif buckets < row["rollout_buckets"]:
            await memberships_sql.shrink_rollout(conn, row["id"], slug, row["salt"], buckets, request_id)
        row = await segments_sql.set_rollout_buckets(conn, row["id"], buckets)
    return _segment(row)


async def delete_segment(pool: asyncpg.Pool, slug: str) -> int:
    async with pool.acquire() as conn, conn.transaction():
        await segments_sql.lock_rollouts_exclusive(conn)
        row = await segments_sql.live_segment_for_update(conn, slug)
        if row is None:
            raise SegmentsNotFound([slug])
        row = await segments_sql.mark_deleted(conn, row["id"])
        ended = await memberships_sql.end_segment_memberships(conn, row["id"], slug, current_request_id())
        await publish_event(
            conn,
            SEGMENT_DELETED,
            SegmentDeleted(slug=slug, deleted_at=row["deleted_at"], memberships_ended=ended),
        )
    return ended


async def list_segments(pool: asyncpg.Pool) -> list[Segment]:
    async with pool.acquire() as conn:
        return [_segment(row) for row in await segments_sql.live_segments(conn)]


async def update_user(pool: asyncpg.Pool, user_id: int, change: MembershipChange) -> list[str]:
    """Atomic: every slug must name a live segment or nothing changes. The user row lock serialises
    concurrent updates of one user, and the primary key of `memberships` keeps one membership."""
    request_id = current_request_id()
    async with pool.acquire() as conn, conn.transaction():
        # Rollout lock before the segment rows: segment deletion takes them in the same order.
        await segments_sql.lock_rollouts_shared(conn)
        segments = await segments_sql.segments_by_slug_for_share(conn, change.slugs)
        missing = [s for s in change.slugs if s not in segments or segments[s]["deleted_at"] is not None]
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
                [segments[a.slug]["id"] for a in change.to_add],
                [a.expires_at for a in change.to_add],
                request_id,
            )
        if change.to_delete:
            await memberships_sql.delete_memberships(
                conn, user_id, [segments[s]["id"] for s in change.to_delete], request_id
            )
        return await memberships_sql.active_slugs(conn, user_id)


async def register_users(pool: asyncpg.Pool, user_ids: Sequence[int]) -> Registration:
    """COPY into a temporary table, then one statement inserts the new users and their rollout
    memberships (history and events included)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMPORARY TABLE staged_users (user_id bigint NOT NULL) ON COMMIT DROP")
        await conn.copy_records_to_table(
            "staged_users", records=[(u,) for u in user_ids], columns=["user_id"]
        )
        await segments_sql.lock_rollouts_shared(conn)
        registered, memberships = await memberships_sql.register_users(
            conn, "SELECT user_id FROM staged_users", [], current_request_id()
        )
    return Registration(registered, memberships)


async def expire_memberships(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn, conn.transaction():
        return await memberships_sql.expire_memberships(conn, current_request_id())


def utc_now() -> datetime:
    return datetime.now(UTC)
