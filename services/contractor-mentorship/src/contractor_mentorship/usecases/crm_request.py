"""The `crm-request` task: gather the newbie's data and file their request in the CRM's table.

Idempotent by construction: it acts only on a matching still `created`; the request row is a part
file named after the matching and created only if absent, so a retry never adds a second row.
Upstream failures raise: the task is retried with backoff and, after its last attempt, parked with
the reason recorded on the matching, which stays `created`.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import structlog

from contractor_mentorship.domain.errors import UpstreamError
from contractor_mentorship.storage import crm
from contractor_mentorship.storage import matchings as matchings_sql
from contractor_mentorship.upstreams import DriverKey, DriverProfile, Upstreams
from quintet_s3 import ObjectStore

log = structlog.get_logger("contractor_mentorship.crm_request")


async def _city(upstreams: Upstreams, key: DriverKey) -> str | None:
    position = await upstreams.trackstory.last_position(key)
    return None if position is None else await upstreams.geobase.city(position)


async def _phone(upstreams: Upstreams, profile: DriverProfile) -> str | None:
    if not profile.phone_pd_id:
        return None
    return (await upstreams.personal.phones([profile.phone_pd_id])).get(profile.phone_pd_id)


async def request_matching(
    conn: asyncpg.Connection,
    upstreams: Upstreams,
    store: ObjectStore,
    new_drivers_url: str,
    matching_id: uuid.UUID,
) -> bool:
    """File the request of a `created` matching and mark it `requested`; False if nothing to do."""
    matching = await matchings_sql.lock(conn, matching_id)
    if matching is None or matching["status"] != "created":
        return False
    newbie = (matching["newbie_park_id"], matching["newbie_driver_id"])
    profile = await upstreams.driver_profiles.get(newbie)
    if profile is None:
        raise UpstreamError("driver-profiles", "does not know the newbie's profile")
    city, rented, phone = await asyncio.gather(
        _city(upstreams, newbie), upstreams.fleet_rent.is_rented(newbie), _phone(upstreams, profile)
    )
    row = crm.NewDriverRow(
        matching_id=matching_id,
        park_id=newbie[0],
        driver_id=newbie[1],
        unique_driver_id=matching["newbie_unique_driver_id"],
        first_name=profile.first_name,
        last_name=profile.last_name,
        phone=phone,
        city=city,
        rented_car=rented,
        created_at=datetime.now(UTC),
    )
    written = await crm.write_new_driver(store, new_drivers_url, row)
    await matchings_sql.advance(conn, [matching_id], "created", "requested")
    log.info(
        "crm request filed",
        matching_id=str(matching_id),
        row_written_now=written,
        city_known=city is not None,
    )
    return True


async def record_failure(conn: asyncpg.Connection, task_id: str, reason: str) -> None:
    """on_parked: the matching stays `created`, with why its request was given up."""
    try:
        matching_id = uuid.UUID(task_id)
    except ValueError:
        return
    await matchings_sql.set_request_failure(conn, matching_id, reason)
