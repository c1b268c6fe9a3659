"""What a driver sees of their counterparts: name, phone, WhatsApp link, messages, unread count.

Upstream rounds are few and bulk: the caller's profile (to find their matchings through every
linked profile), then the counterparts' profiles (names and phone ids) together with the database
reads, then their phones. Phones are only passed through to the response.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contractor_mentorship.domain.errors import MatchingNotFound
from contractor_mentorship.domain.messages import (
    Message,
    Transition,
    compose_messages,
    full_name,
    unread_count,
    whatsapp_link,
)
from contractor_mentorship.domain.status import MENTOR_SEES_NEWBIE, NEWBIE_SEES_MENTOR, Role
from contractor_mentorship.storage import matchings as matchings_sql
from contractor_mentorship.storage.results import RESULT_COLUMNS
from contractor_mentorship.upstreams import DriverKey, DriverProfile, Upstreams
from contractor_mentorship.usecases.participation import resolve


@dataclass(frozen=True)
class Contact:
    matching_id: uuid.UUID
    status: str
    name: str | None
    phone: str | None
    whatsapp_link: str | None
    messages: list[Message]
    unread: int


@dataclass(frozen=True)
class _Seen:
    matching: asyncpg.Record
    counterpart: DriverKey
    last_read_at: datetime | None


async def contacts(
    pool: asyncpg.Pool, upstreams: Upstreams, key: DriverKey, *, one_by_one: bool = False
) -> tuple[Role, list[Contact]]:
    """The caller's role and counterparts. `one_by_one` makes every upstream call in turn, per
    counterpart (the benchmark's baseline); the default batches them."""
    caller = await resolve(upstreams, key)
    role, seen = await _counterparts(pool, caller)
    if not seen:
        return role, []
    ids = [s.matching["id"] for s in seen]
    keys = [s.counterpart for s in seen]
    if one_by_one:
        history = await _history(pool, ids)
        profiles: dict[DriverKey, DriverProfile] = {}
        phones: dict[str, str] = {}
        for counterpart in keys:
            profile = await upstreams.driver_profiles.get(counterpart)
            if profile is not None:
                profiles[counterpart] = profile
                if profile.phone_pd_id:
                    phones.update(await upstreams.personal.phones([profile.phone_pd_id]))
    else:
        history, profiles = await asyncio.gather(
            _history(pool, ids), upstreams.driver_profiles.retrieve(keys)
        )
        phones = await upstreams.personal.phones(p.phone_pd_id for p in profiles.values() if p.phone_pd_id)
    transitions, results = history
    found = []
    for item in seen:
        matching = item.matching
        profile = profiles.get(item.counterpart)
        name = full_name(profile.first_name, profile.last_name) if profile else None
        phone = phones.get(profile.phone_pd_id) if profile and profile.phone_pd_id else None
        messages = compose_messages(
            role,
            transitions.get(matching["id"], []),
            counterpart_name=name,
            results=results.get(matching["id"], {}),
            promocode=matching["mentor_promocode"],
        )
        found.append(
            Contact(
                matching_id=matching["id"],
                status=matching["status"],
                name=name,
                phone=phone,
                whatsapp_link=whatsapp_link(phone),
                messages=messages,
                unread=unread_count(messages, item.last_read_at),
            )
        )
    return role, found


async def _counterparts(pool: asyncpg.Pool, caller: DriverProfile) -> tuple[Role, list[_Seen]]:
    async with pool.acquire() as conn:
        own = await matchings_sql.by_newbie(conn, caller.unique_driver_id)
        if own is not None:
            if own["status"] not in NEWBIE_SEES_MENTOR or own["mentor_park_id"] is None:
                return "newbie", []
            mentor = (own["mentor_park_id"], own["mentor_driver_id"])
            return "newbie", [_Seen(own, mentor, own["newbie_last_read_at"])]
        mentored = await matchings_sql.of_mentor(conn, caller.linked_keys, MENTOR_SEES_NEWBIE)
        if not mentored:
            role: Role = "mentor" if await matchings_sql.is_mentor(conn, caller.linked_keys) else "none"
            return role, []
    return "mentor", [
        _Seen(m, (m["newbie_park_id"], m["newbie_driver_id"]), m["mentor_last_read_at"]) for m in mentored
    ]


async def _history(
    pool: asyncpg.Pool, ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[Transition]], dict[uuid.UUID, dict[str, dict[str, str | None]]]]:
    async with pool.acquire() as conn:
        transition_rows = await matchings_sql.transitions_of(conn, ids)
        result_rows = await matchings_sql.results_of(conn, ids)
    transitions: dict[uuid.UUID, list[Transition]] = defaultdict(list)
    for row in transition_rows:
        transitions[row["matching_id"]].append(Transition(row["id"], row["to_status"], row["created_at"]))
    results: dict[uuid.UUID, dict[str, dict[str, str | None]]] = defaultdict(dict)
    for row in result_rows:
        results[row["matching_id"]][row["stage"]] = {c: row[c] for c in RESULT_COLUMNS}
    return transitions, results


async def mark_read(pool: asyncpg.Pool, upstreams: Upstreams, key: DriverKey, matching_id: uuid.UUID) -> None:
    """Set the caller's read mark in the matching to now, by their role in it; 404 if not in it."""
    caller = await resolve(upstreams, key)
    async with pool.acquire() as conn:
        matching = await matchings_sql.get(conn, matching_id)
        if matching is None:
            raise MatchingNotFound()
        if matching["newbie_unique_driver_id"] == caller.unique_driver_id:
            role = "newbie"
        elif (matching["mentor_park_id"], matching["mentor_driver_id"]) in set(caller.linked_keys):
            role = "mentor"
        else:
            raise MatchingNotFound()
        await matchings_sql.mark_read(conn, matching_id, role)
