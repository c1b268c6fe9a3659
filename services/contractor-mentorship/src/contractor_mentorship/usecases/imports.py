"""The periodic imports from the CRM's tables and the notifications that follow them.

Each import reads its dataset streaming, resolves linked profiles in bulk (driver-profiles, a few
hundred profiles per call) and changes statuses set-based, a batch per transaction, each change
with its transition and event. A matching moves at most one step per run (import-matchings' one
step being the CRM's match and the drivers told: `matched` and `initialized` written together).
Drivers are notified through client-events before the status that says they were notified is
written: a failed push leaves the matchings where they were, for the next run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import asyncpg

from contractor_mentorship.settings import Settings, crm_policy
from contractor_mentorship.storage import crm, watermarks
from contractor_mentorship.storage import matchings as matchings_sql
from contractor_mentorship.storage import results as results_sql
from contractor_mentorship.upstreams import ClientEvent, DriverKey, Upstreams
from quintet_s3 import ObjectStore

DISTRIBUTION_WATERMARK = "distribution"
TELLING_AHEAD = 2  # chunks whose drivers are being told (and matchings written) at once
_Chosen = dict[str, crm.DistributionRow]  # a person's unique driver id -> the row that counts
CLIENT_EVENT = "mentorship.status-changed"

T = TypeVar("T")


@dataclass(frozen=True)
class JobDeps:
    pool: asyncpg.Pool
    store: ObjectStore
    upstreams: Upstreams
    settings: Settings


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _client_event(matching_id: uuid.UUID, driver: DriverKey, role: str, status: str) -> ClientEvent:
    payload = {"matching_id": str(matching_id), "status": status, "role": role}
    return ClientEvent(park_id=driver[0], driver_id=driver[1], event=CLIENT_EVENT, payload=payload)


def _event(row: asyncpg.Record, role: str, status: str) -> ClientEvent:
    """The client event telling the matching's newbie or mentor (by `role`) its new status."""
    key = (
        (row["newbie_park_id"], row["newbie_driver_id"])
        if role == "newbie"
        else (row["mentor_park_id"], row["mentor_driver_id"])
    )
    return _client_event(row["id"], key, role, status)


# -- import-matchings -----------------------------------------------------------------------------


async def import_matchings(deps: JobDeps) -> dict[str, int]:
    """Distribution rows newer than the watermark: the newbie's waiting matching gets its mentor,
    both drivers are told, and it is written `matched` then `initialized` in one update (both steps
    recorded). A failed push leaves the chunk's matchings waiting, and the watermark where it was, so
    the next run takes them again."""
    pool, settings = deps.pool, deps.settings
    watermark = await watermarks.get(pool, DISTRIBUTION_WATERMARK)
    counts = crm.ReadCounts()
    latest: dict[DriverKey, crm.DistributionRow] = {}
    async for row in crm.distribution_since(
        deps.store, settings.distribution_url, watermark, counts, crm_policy(settings)
    ):
        known = latest.get(row.newbie)
        if known is None or row.connected_dttm >= known.connected_dttm:
            latest[row.newbie] = row
    # Newest first: the first chunk a person appears in (through any of their linked profiles) holds
    # their newest row, the one that counts.
    rows = sorted(latest.values(), key=lambda r: r.connected_dttm, reverse=True)
    matched = unknown = 0
    seen: set[str] = set()  # people taken by an earlier chunk (linked profiles in two chunks)

    async def prepare(chunk: Sequence[crm.DistributionRow]) -> tuple[list[asyncpg.Record], _Chosen]:
        """The chunk's people (profiles resolved) and their matchings still waiting for the CRM."""
        nonlocal unknown
        people = await deps.upstreams.driver_profiles.people(r.newbie for r in chunk)
        by_person: _Chosen = {}
        for row in chunk:
            person = people.get(row.newbie)
            if person is None:
                unknown += 1
                continue
            if person in seen:
                continue
            known = by_person.get(person)
            if known is None or row.connected_dttm >= known.connected_dttm:
                by_person[person] = row
        seen.update(by_person)
        waiting = await matchings_sql.waiting_for_crm(pool, list(by_person)) if by_person else []
        return waiting, by_person

    preparing: asyncio.Future[tuple[list[asyncpg.Record], _Chosen]] | None = None
    telling: list[asyncio.Future[int]] = []
    chunks = list(_chunks(rows, settings.import_batch_size))
    # The next chunk is prepared (profiles resolved, waiting matchings read) while the drivers of
    # earlier chunks are told and their matchings written, two chunks at a time (one chunk's push
    # overlaps the other's update). Chunks are prepared one after another (`seen`).
    try:
        for index, chunk in enumerate(chunks):
            if preparing is None:
                preparing = asyncio.ensure_future(prepare(chunk))
            waiting, by_person = await preparing
            preparing = asyncio.ensure_future(prepare(chunks[index + 1])) if index + 1 < len(chunks) else None
            if len(telling) == TELLING_AHEAD:
                matched += await telling.pop(0)
            if waiting:
                telling.append(asyncio.ensure_future(_tell_and_initialize(deps, waiting, by_person)))
        while telling:
            matched += await telling.pop(0)
    finally:
        # A failed chunk leaves nothing running behind the job and no error unread. Chunks already
        # being told are let finish: one cancelled between its push and its update would have its
        # drivers told again by the next run.
        if preparing is not None:
            preparing.cancel()
        behind = [task for task in (preparing, *telling) if task is not None]
        await asyncio.gather(*behind, return_exceptions=True)
    newest = max((r.connected_dttm for r in rows), default=None)
    if newest is not None:
        async with pool.acquire() as conn:
            await watermarks.advance(conn, DISTRIBUTION_WATERMARK, newest)
    return {
        "rows_read": counts.read,
        "rows_skipped": counts.skipped,
        "rows_new": len(rows),
        "unknown_newbies": unknown,
        "matched": matched,
        "initialized": matched,  # both steps are written together
    }


async def _tell_and_initialize(deps: JobDeps, waiting: Sequence[asyncpg.Record], chosen: _Chosen) -> int:
    """Tell both drivers of each waiting matching that it is initialized with its mentor, then write
    it `matched` and `initialized` (one transaction); how many moved."""
    rows = [chosen[m["newbie_unique_driver_id"]] for m in waiting]
    events = []
    for matching, row in zip(waiting, rows, strict=True):
        newbie = (matching["newbie_park_id"], matching["newbie_driver_id"])
        events.append(_client_event(matching["id"], newbie, "newbie", "initialized"))
        events.append(_client_event(matching["id"], row.mentor, "mentor", "initialized"))
    await deps.upstreams.client_events.push(events)
    async with deps.pool.acquire() as conn, conn.transaction():
        return await matchings_sql.match_and_initialize(
            conn, [m["id"] for m in waiting], [r.mentor for r in rows], [r.connected_dttm for r in rows]
        )


# -- import-progress ------------------------------------------------------------------------------

_STAGES = (("7d", "initialized", "in_progress"), ("14d", "in_progress", "finished"))


async def _all_participating(
    pool: asyncpg.Pool, status: str, matched_before: datetime
) -> list[asyncpg.Record]:
    found: list[asyncpg.Record] = []
    after: uuid.UUID | None = None
    while True:
        rows = await matchings_sql.participating_since(pool, status, matched_before, limit=5000, after=after)
        if not rows:
            return found
        found.extend(rows)
        after = rows[-1]["id"]


async def _linked_newbies(
    upstreams: Upstreams, matchings: Sequence[asyncpg.Record]
) -> dict[uuid.UUID, list[DriverKey]]:
    """Each matching's newbie profiles: their own first, then every linked one driver-profiles knows."""
    own = {m["id"]: (m["newbie_park_id"], m["newbie_driver_id"]) for m in matchings}
    profiles = await upstreams.driver_profiles.retrieve(own.values())
    linked: dict[uuid.UUID, list[DriverKey]] = {}
    for matching_id, key in own.items():
        profile = profiles.get(key)
        others = [k for k in profile.linked_keys if k != key] if profile else []
        linked[matching_id] = [key, *others]
    return linked


async def import_progress(deps: JobDeps, now: datetime) -> dict[str, int]:
    """`initialized` matchings ≥ 7 days in → 7-day results stored, mentor told → `in_progress`;
    `in_progress` ones ≥ 14 days in → final results, mentor told → `finished`. One step per run."""
    settings = deps.settings
    candidates = {
        "7d": await _all_participating(
            deps.pool, "initialized", now - timedelta(days=settings.progress_days)
        ),
        "14d": await _all_participating(deps.pool, "in_progress", now - timedelta(days=settings.final_days)),
    }
    counts: dict[str, int] = {"rows_read": 0, "waiting_for_results": 0, "in_progress": 0, "finished": 0}
    everyone = [m for rows in candidates.values() for m in rows]
    if not everyone:
        return counts
    linked = await _linked_newbies(deps.upstreams, everyone)
    wanted = {key: True for keys in linked.values() for key in keys}
    read = crm.ReadCounts()
    figures = await crm.results_for(
        deps.store, settings.results_to_send_url, wanted, read, crm_policy(settings)
    )
    counts["rows_read"] = read.read
    for stage, from_status, to_status in _STAGES:
        ready = []
        for matching in candidates[stage]:
            row = next((figures[k] for k in linked[matching["id"]] if k in figures), None)
            if row is None:
                counts["waiting_for_results"] += 1
            else:
                ready.append((matching, row))
        for chunk in _chunks(ready, settings.import_batch_size):
            async with deps.pool.acquire() as conn, conn.transaction():
                await results_sql.upsert_many(
                    conn,
                    stage,
                    [(m["id"], m["newbie_park_id"], m["newbie_driver_id"], row) for m, row in chunk],
                )
            await deps.upstreams.client_events.push([_event(m, "mentor", to_status) for m, _ in chunk])
            async with deps.pool.acquire() as conn, conn.transaction():
                moved = await matchings_sql.advance(conn, [m["id"] for m, _ in chunk], from_status, to_status)
            counts[to_status] += len(moved)
    return counts


# -- import-finished ------------------------------------------------------------------------------


async def import_finished(deps: JobDeps, now: datetime, day: str | None = None) -> dict[str, int]:
    """The day's promocodes: the `finished` matching of that newbie → `succeed` (mentor told); then
    `finished` matchings more than 14 days in without one → `failed`. Without the day's dataset
    nothing fails: the CRM has not written it yet."""
    settings = deps.settings
    day = day or now.date().isoformat()
    finished = await _all_participating(deps.pool, "finished", now)
    counts = {"rows_read": 0, "succeed": 0, "failed": 0, "dataset_missing": 0}
    linked = await _linked_newbies(deps.upstreams, finished) if finished else {}
    wanted = {
        f"{park}_{driver}": matching_id for matching_id, keys in linked.items() for park, driver in keys
    }
    read = crm.ReadCounts()
    url = crm.promocodes_url(settings.finished_promocodes_url, day)
    promocodes = await crm.promocodes_for(deps.store, url, wanted, read, crm_policy(settings))
    counts["rows_read"] = read.read
    if promocodes is None:
        counts["dataset_missing"] = 1
        return counts
    issued: dict[uuid.UUID, str] = {}
    for matching_id, keys in linked.items():
        code = next((promocodes[f"{p}_{d}"] for p, d in keys if f"{p}_{d}" in promocodes), None)
        if code is not None:
            issued[matching_id] = code
    by_id = {m["id"]: m for m in finished}
    for chunk in _chunks(list(issued.items()), settings.import_batch_size):
        await deps.upstreams.client_events.push([_event(by_id[i], "mentor", "succeed") for i, _ in chunk])
        async with deps.pool.acquire() as conn, conn.transaction():
            moved = await matchings_sql.complete_succeed(conn, [i for i, _ in chunk], [c for _, c in chunk])
        counts["succeed"] += len(moved)
    async with deps.pool.acquire() as conn, conn.transaction():
        failed = await matchings_sql.fail_overdue(
            conn, now - timedelta(days=settings.fail_after_days), list(issued)
        )
    counts["failed"] = len(failed)
    return counts
