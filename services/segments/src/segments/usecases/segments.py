"""Segments: create (with a sticky rollout), change the rollout, delete, list. Each function is one
transaction, except that a growing rollout is then materialised in batches of users, each its own
short transaction (`complete_growth`); state changes and their outbox events commit together."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from quintet_contracts.segments import SEGMENT_CREATED, SEGMENT_DELETED, SegmentCreated, SegmentDeleted
from quintet_messaging import publish_event
from quintet_runtime import current_request_id
from segments.domain.errors import SegmentExists, SegmentsNotFound
from segments.domain.model import Segment
from segments.storage import memberships as memberships_sql
from segments.storage import rollouts as rollouts_sql
from segments.storage import segments as segments_sql

# Users looked at per growth batch: about 0.1 s of work, so a batch holds its locks only that long.
GROWTH_BATCH_USERS = 20_000


class _GrowthInProgress(Exception):
    """A percent change met a growth still being materialised: finish it, then change again."""

    def __init__(self, segment_id: int) -> None:
        super().__init__(segment_id)
        self.segment_id = segment_id


async def create_segment(
    pool: asyncpg.Pool,
    slug: str,
    buckets: int,
    batch_users: int = GROWTH_BATCH_USERS,
    *,
    pause_ratio: float = 0.0,
) -> tuple[Segment, int]:
    """The segment, and the rollout memberships it started (materialised in batches, see
    `complete_growth`; the request answers once every known user is covered)."""
    async with pool.acquire() as conn, conn.transaction():
        if buckets > 0:
            # Waits for registrations in flight: later ones see the segment and cover their users.
            await segments_sql.lock_rollouts_exclusive(conn)
        segment = await segments_sql.insert_segment(conn, slug, buckets)
        if segment is None:
            raise SegmentExists(slug)
        if buckets > 0:
            await rollouts_sql.start_growth(conn, segment.id, 0, buckets)
        await publish_event(
            conn,
            SEGMENT_CREATED,
            SegmentCreated(
                slug=slug, percent=segment.percent if buckets else None, created_at=segment.created_at
            ),
        )
    added = (
        await complete_growth(pool, segment.id, batch_users, pause_ratio=pause_ratio) if buckets > 0 else 0
    )
    return segment, added


async def change_rollout(
    pool: asyncpg.Pool,
    slug: str,
    buckets: int,
    batch_users: int = GROWTH_BATCH_USERS,
    *,
    pause_ratio: float = 0.0,
) -> Segment:
    """Sticky: the same salt, so growing keeps every member and shrinking keeps a subset. The new
    percent commits first (new users join by it from then on), then the users already known join in
    batches; a growth still in progress from an earlier change is finished first."""
    while True:
        try:
            segment = await _set_rollout(pool, slug, buckets)
            break
        except _GrowthInProgress as pending:
            await complete_growth(pool, pending.segment_id, batch_users, pause_ratio=pause_ratio)
    await complete_growth(pool, segment.id, batch_users, pause_ratio=pause_ratio)
    return segment


async def _set_rollout(pool: asyncpg.Pool, slug: str, buckets: int) -> Segment:
    async with pool.acquire() as conn, conn.transaction():
        await segments_sql.lock_rollouts_exclusive(conn)
        segment = await segments_sql.live_segment_for_update(conn, slug)
        if segment is None:
            raise SegmentsNotFound([slug])
        if await rollouts_sql.growth_pending(conn, segment.id):
            raise _GrowthInProgress(segment.id)
        request_id = current_request_id()
        if buckets > segment.rollout_buckets:
            # A membership whose TTL passed but is not swept yet would block a user of the added
            # range from joining: end those first, so the outcome never depends on the sweep's timing.
            await memberships_sql.expire_memberships(conn, request_id, segment_id=segment.id)
            await rollouts_sql.start_growth(conn, segment.id, segment.rollout_buckets, buckets)
        elif buckets < segment.rollout_buckets:
            await memberships_sql.shrink_rollout(conn, segment.id, slug, segment.salt, buckets, request_id)
        return await segments_sql.set_rollout_buckets(conn, segment.id, buckets)


async def complete_growth(
    pool: asyncpg.Pool, segment_id: int, batch_users: int = GROWTH_BATCH_USERS, *, pause_ratio: float = 0.0
) -> int:
    """Materialise a growth batch by batch (each one short transaction: the growth row and the
    batch's user rows are all it locks); returns the memberships added. Safe to run by several
    callers at once (the growth row hands them the batches in turn) and to resume after a crash.

    After each batch it pauses `pause_ratio` times as long as the batch took (the way autovacuum's
    cost delay works): a growth over millions of users then uses a share of the database's CPU, not
    all of a core, and the reads served meanwhile keep their latency."""
    added = 0
    while True:
        started = time.monotonic()
        async with pool.acquire() as conn, conn.transaction():
            growth = await rollouts_sql.growth_for_update(conn, segment_id)
            if growth is None:  # done by another caller, or the segment was deleted
                return added
            last_user_id = await rollouts_sql.lock_next_users(conn, growth.next_user_id, batch_users)
            if last_user_id is None:
                await rollouts_sql.end_growth(conn, segment_id)
                return added
            added += await memberships_sql.grow_rollout(
                conn,
                segment_id,
                growth.slug,
                growth.salt,
                growth.from_buckets,
                growth.to_buckets,
                growth.next_user_id,
                last_user_id,
                current_request_id(),
            )
            await rollouts_sql.advance_growth(conn, segment_id, last_user_id)
        if pause_ratio > 0:
            await asyncio.sleep((time.monotonic() - started) * pause_ratio)


async def complete_pending_growths(
    pool: asyncpg.Pool, batch_users: int = GROWTH_BATCH_USERS, *, pause_ratio: float = 0.0
) -> int:
    """The worker's job: growths a crashed api left half done are finished."""
    added = 0
    for segment_id in await rollouts_sql.pending_growths(pool):
        added += await complete_growth(pool, segment_id, batch_users, pause_ratio=pause_ratio)
    return added


async def delete_segment(pool: asyncpg.Pool, slug: str) -> int:
    """Soft delete: every active membership ends with a history row; returns how many ended."""
    async with pool.acquire() as conn, conn.transaction():
        await segments_sql.lock_rollouts_exclusive(conn)
        # The growth row before the segment row (batches lock only the growth row): a batch in
        # progress finishes first, and its members are ended below with the others.
        live = await segments_sql.live_segment(conn, slug)
        if live is not None:
            await rollouts_sql.end_growth(conn, live.id)
        segment = await segments_sql.live_segment_for_update(conn, slug)
        if segment is None:
            raise SegmentsNotFound([slug])
        segment = await segments_sql.mark_deleted(conn, segment.id)
        ended = await memberships_sql.end_segment_memberships(conn, segment.id, slug, current_request_id())
        assert segment.deleted_at is not None
        await publish_event(
            conn,
            SEGMENT_DELETED,
            SegmentDeleted(slug=slug, deleted_at=segment.deleted_at, memberships_ended=ended),
        )
    return ended


async def list_segments(pool: asyncpg.Pool) -> list[Segment]:
    async with pool.acquire() as conn:
        return await segments_sql.live_segments(conn)
