"""A driver's place in the programme: who they are to it, whether to offer it, and accepting it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from pydantic import BaseModel

from contractor_mentorship import SERVICE as MENTORSHIP
from contractor_mentorship.domain.errors import DriverNotFound, MentorCannotAccept
from contractor_mentorship.domain.offer import show_offer
from contractor_mentorship.domain.status import Role
from contractor_mentorship.storage import matchings as matchings_sql
from contractor_mentorship.upstreams import DriverKey, DriverProfile, Upstreams
from quintet_messaging import enqueue_task

CRM_REQUEST_TASK = "crm-request"


class CrmRequestTask(BaseModel):
    matching_id: uuid.UUID


@dataclass(frozen=True)
class Participation:
    role: Role
    status: str | None
    show_offer: bool


async def resolve(upstreams: Upstreams, key: DriverKey) -> DriverProfile:
    """The caller's profile with every linked profile (driver-profiles); DriverNotFound if unknown."""
    profile = await upstreams.driver_profiles.get(key)
    if profile is None:
        raise DriverNotFound()
    return profile


async def participation(
    pool: asyncpg.Pool, upstreams: Upstreams, key: DriverKey, *, offer_days: int
) -> Participation:
    try:
        profile = await resolve(upstreams, key)
    except DriverNotFound:
        return Participation(role="none", status=None, show_offer=False)
    async with pool.acquire() as conn:
        matching = await matchings_sql.by_newbie(conn, profile.unique_driver_id)
        if matching is not None:
            return Participation(role="newbie", status=matching["status"], show_offer=False)
        mentor = await matchings_sql.is_mentor(conn, profile.linked_keys)
    offer = show_offer(
        hired_at=profile.hired_at,
        now=datetime.now(UTC),
        offer_days=offer_days,
        has_matching=False,
        is_mentor=mentor,
    )
    return Participation(role="mentor" if mentor else "none", status=None, show_offer=offer)


async def accept(pool: asyncpg.Pool, upstreams: Upstreams, key: DriverKey) -> tuple[asyncpg.Record, bool]:
    """The newbie's matching and whether it was created now (then its CRM request is queued).

    From any linked profile, a repeated accept finds the same matching: the person's unique driver
    id is the matchings' unique key, so concurrent accepts create one row.
    """
    profile = await resolve(upstreams, key)
    async with pool.acquire() as conn, conn.transaction():
        existing = await matchings_sql.by_newbie(conn, profile.unique_driver_id)
        if existing is not None:
            return existing, False
        if await matchings_sql.is_mentor(conn, profile.linked_keys):
            raise MentorCannotAccept()
        matching_id = uuid.uuid4()
        created = await matchings_sql.insert(conn, matching_id, key, profile.unique_driver_id)
        if created is None:  # a concurrent accept of the same person won
            raced = await matchings_sql.by_newbie(conn, profile.unique_driver_id)
            assert raced is not None
            return raced, False
        await enqueue_task(
            conn, MENTORSHIP.name, CRM_REQUEST_TASK, str(matching_id), CrmRequestTask(matching_id=matching_id)
        )
        return created, True
