"""HTTP handlers: parse, call one use case, serialise."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web

from contractor_mentorship.api.models import (
    AcceptedMatching,
    AdminMatchingPath,
    Contact,
    ContactMessage,
    Contacts,
    JobPath,
    JobRun,
    Matching,
    MatchingDetails,
    MatchingPath,
    MatchingsPage,
    MatchingsQuery,
    ParticipationStatus,
    Results,
    StatusTransition,
)
from contractor_mentorship.domain.errors import MatchingNotFound
from contractor_mentorship.keys import PG_POOL, S3_CLIENT, UPSTREAMS
from contractor_mentorship.settings import Settings
from contractor_mentorship.storage import matchings as matchings_sql
from contractor_mentorship.upstreams import DriverKey
from contractor_mentorship.usecases import contacts as contacts_usecase
from contractor_mentorship.usecases import jobs, participation
from contractor_mentorship.usecases.imports import JobDeps
from quintet_s3 import ObjectStore
from quintet_service import app_settings
from quintet_web import BadRequest, Principal, RouteTable, Unauthorized

routes = RouteTable("contractor-mentorship")

DRIVER = "mentorship:driver"
ADMIN = "mentorship:admin"
DRIVER_API = "/driver/v1/mentorship"


def _driver(principal: Principal) -> DriverKey:
    """The caller's profile: only the verified token's park_id and driver_id claims say who it is."""
    park_id, driver_id = principal.park_id, principal.driver_id
    if not park_id or not driver_id:
        raise Unauthorized("the token carries no park_id and driver_id claims", code="missing_driver_claims")
    for name, value in (("park_id", park_id), ("driver_id", driver_id)):
        if len(value) > 64 or "\x00" in value:
            raise Unauthorized(f"invalid token: the {name} claim is not a driver id", code="invalid_token")
    return (park_id, driver_id)


@routes.get(
    f"{DRIVER_API}/status",
    summary="The caller's role in the programme, their matching's status, and whether to offer it",
    scope=DRIVER,
    response=ParticipationStatus,
    errors=(401, 403, 503),
)
async def status(request: web.Request, *, principal: Principal) -> ParticipationStatus:
    found = await participation.participation(
        request.app[PG_POOL],
        request.app[UPSTREAMS],
        _driver(principal),
        offer_days=app_settings(request, Settings).offer_days,
    )
    return ParticipationStatus(role=found.role, status=found.status, show_offer=found.show_offer)  # type: ignore[arg-type]


@routes.post(
    f"{DRIVER_API}/accept",
    summary="Join the programme as a newbie: 201 with the new matching, 200 with the existing one",
    scope=DRIVER,
    response=AcceptedMatching,
    status=201,
    errors=(401, 403, 404, 409, 503),
)
async def accept(request: web.Request, *, principal: Principal) -> web.Response:
    matching, created = await participation.accept(
        request.app[PG_POOL], request.app[UPSTREAMS], _driver(principal)
    )
    body = AcceptedMatching(id=matching["id"], status=matching["status"])
    return web.Response(
        body=body.model_dump_json(), status=201 if created else 200, content_type="application/json"
    )


@routes.get(
    f"{DRIVER_API}/contacts",
    summary="The caller's mentor (newbie) or newbies (mentor): name, phone, WhatsApp link, messages",
    scope=DRIVER,
    response=Contacts,
    errors=(401, 403, 404, 503),
)
async def contacts(request: web.Request, *, principal: Principal) -> Contacts:
    one_by_one = app_settings(request, Settings).contacts_upstream_calls == "one_by_one"
    role, found = await contacts_usecase.contacts(
        request.app[PG_POOL], request.app[UPSTREAMS], _driver(principal), one_by_one=one_by_one
    )
    return Contacts(
        role=role,
        contacts=[
            Contact(
                matching_id=c.matching_id,
                status=c.status,  # type: ignore[arg-type]
                name=c.name,
                phone=c.phone,
                whatsapp_link=c.whatsapp_link,
                messages=[ContactMessage(id=m.id, text=m.text, created_at=m.created_at) for m in c.messages],
                unread=c.unread,
            )
            for c in found
        ],
    )


@routes.post(
    f"{DRIVER_API}/contacts/{{matching_id}}/read",
    summary="Mark the matching's messages read by the caller (newbie or mentor in it)",
    scope=DRIVER,
    path_params=MatchingPath,
    status=204,
    errors=(400, 401, 403, 404, 503),
)
async def mark_read(request: web.Request, *, principal: Principal, path: MatchingPath) -> None:
    await contacts_usecase.mark_read(
        request.app[PG_POOL], request.app[UPSTREAMS], _driver(principal), path.matching_id
    )


def _encode_cursor(row: Any) -> str:
    raw = json.dumps([row["created_at"].isoformat(), str(row["id"])]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created_at, matching_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created_at), uuid.UUID(matching_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest(
            "cursor is not a cursor this api gave out",
            code="validation_error",
            details=[{"field": "cursor", "message": "invalid cursor", "type": "value_error"}],
        ) from exc


def _matching(row: Any) -> Matching:
    return Matching.model_validate({name: row[name] for name in Matching.model_fields})


@routes.get(
    "/internal/admin/matchings",
    summary="Matchings newest first, by status and a newbie's or mentor's park/driver (keyset pages)",
    scope=ADMIN,
    query=MatchingsQuery,
    response=MatchingsPage,
    errors=(400, 401, 403),
)
async def list_matchings(request: web.Request, *, query: MatchingsQuery) -> MatchingsPage:
    after = _decode_cursor(query.cursor) if query.cursor else None
    rows = await matchings_sql.page(
        request.app[PG_POOL],
        status=query.status,
        park_id=query.park_id,
        driver_id=query.driver_id,
        after=after,
        limit=query.limit + 1,
    )
    page = rows[: query.limit]
    next_cursor = _encode_cursor(page[-1]) if len(rows) > query.limit else None
    return MatchingsPage(matchings=[_matching(r) for r in page], next_cursor=next_cursor)


@routes.get(
    "/internal/admin/matchings/{id}",
    summary="One matching with its status transitions and imported results",
    scope=ADMIN,
    path_params=AdminMatchingPath,
    response=MatchingDetails,
    errors=(400, 401, 403, 404),
)
async def get_matching(request: web.Request, *, path: AdminMatchingPath) -> MatchingDetails:
    pool = request.app[PG_POOL]
    row = await matchings_sql.get(pool, path.id)
    if row is None:
        raise MatchingNotFound()
    transitions = await matchings_sql.transitions_of(pool, [path.id])
    results = await matchings_sql.results_of(pool, [path.id])
    return MatchingDetails(
        **_matching(row).model_dump(),
        transitions=[
            StatusTransition(
                id=t["id"], created_at=t["created_at"], from_=t["from_status"], to=t["to_status"]
            )
            for t in transitions
        ],
        results=[Results.model_validate({n: r[n] for n in Results.model_fields}) for r in results],
    )


@routes.post(
    "/internal/admin/jobs/{job}/run",
    summary="Run one periodic job now (import-matchings, import-progress, import-finished, archive)",
    scope=ADMIN,
    path_params=JobPath,
    response=JobRun,
    errors=(400, 401, 403, 404, 409, 503),
    timeout=600,  # an import walks a whole CRM table
)
async def run_job(request: web.Request, *, path: JobPath) -> JobRun:
    deps = JobDeps(
        pool=request.app[PG_POOL],
        store=ObjectStore(request.app[S3_CLIENT]),
        upstreams=request.app[UPSTREAMS],
        settings=app_settings(request, Settings),
    )
    return JobRun(job=path.job, counts=await jobs.run_job(deps, path.job))
