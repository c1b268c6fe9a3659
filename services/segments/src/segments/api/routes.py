"""HTTP handlers: parse, call one service function, serialise."""

from __future__ import annotations

import json
import uuid

from aiohttp import web

from quintet_s3 import ObjectStore
from quintet_service import PG_POOL, S3_CLIENT, app_settings
from quintet_web import BadRequest, Conflict, NotFound, RouteTable, absolute_url
from segments import history_report, segmentation
from segments.api.models import (
    ChangeRolloutRequest,
    CreateSegmentRequest,
    RegisterUsersRequest,
    Registration,
    ReportAccepted,
    ReportPath,
    ReportPending,
    ReportQuery,
    Segment,
    SegmentPath,
    SegmentToAdd,
    UpdateUserSegmentsRequest,
    UserPath,
)
from segments.domain import rules
from segments.settings import Settings
from segments.storage import memberships as memberships_sql
from segments.storage import reports as reports_sql

routes = RouteTable("segments")

READ = "segments:read"
WRITE = "segments:write"
API = "/api/v1"


def _bad(exc: rules.RuleViolation) -> BadRequest:
    return BadRequest(
        str(exc), code="validation_error", details=[{"field": exc.field, "message": str(exc), "type": "rule"}]
    )


def _not_found(exc: segmentation.SegmentsNotFound) -> NotFound:
    return NotFound(str(exc), code="segment_not_found", details={"slugs": exc.slugs})


def _segment(segment: segmentation.Segment) -> Segment:
    return Segment(slug=segment.slug, percent=segment.percent, created_at=segment.created_at)


@routes.post(
    f"{API}/segment",
    summary="Create a segment, optionally with a sticky percentage rollout over every known user",
    scope=WRITE,
    body=CreateSegmentRequest,
    response=Segment,
    status=201,
    errors=(400, 409),
)
async def create_segment(request: web.Request, *, body: CreateSegmentRequest) -> Segment:
    try:
        slug = rules.normalise_slug(body.slug)
        buckets = rules.rollout_buckets(body.percent, body.selection)
        segment, _ = await segmentation.create_segment(request.app[PG_POOL], slug, buckets)
    except rules.RuleViolation as exc:
        raise _bad(exc) from exc
    except segmentation.SegmentExists as exc:
        raise Conflict(str(exc), code="segment_exists", details={"slug": exc.slug}) from exc
    return _segment(segment)


@routes.patch(
    f"{API}/segment/{{slug}}",
    summary="Change a segment's rollout percent (sticky: grows or shrinks the same population)",
    scope=WRITE,
    path_params=SegmentPath,
    body=ChangeRolloutRequest,
    response=Segment,
    errors=(400, 404),
)
async def change_rollout(request: web.Request, *, path: SegmentPath, body: ChangeRolloutRequest) -> Segment:
    if body.percent is None and body.selection is None:
        raise BadRequest("percent is required", code="validation_error", details=[{"field": "percent"}])
    try:
        buckets = rules.rollout_buckets(body.percent, body.selection)
        segment = await segmentation.change_rollout(request.app[PG_POOL], path.slug.strip().upper(), buckets)
    except rules.RuleViolation as exc:
        raise _bad(exc) from exc
    except segmentation.SegmentsNotFound as exc:
        raise _not_found(exc) from exc
    return _segment(segment)


@routes.delete(
    f"{API}/segment/{{slug}}",
    summary="Soft-delete a segment: every active membership ends (history reason segment_deleted)",
    scope=WRITE,
    path_params=SegmentPath,
    status=204,
    errors=(404,),
)
async def delete_segment(request: web.Request, *, path: SegmentPath) -> None:
    try:
        await segmentation.delete_segment(request.app[PG_POOL], path.slug.strip().upper())
    except segmentation.SegmentsNotFound as exc:
        raise _not_found(exc) from exc


@routes.get(
    f"{API}/segments",
    summary="The live segments with their rollout percent",
    scope=READ,
    response=list[Segment],
)
async def list_segments(request: web.Request) -> list[Segment]:
    return [_segment(s) for s in await segmentation.list_segments(request.app[PG_POOL])]


def _membership_change(body: UpdateUserSegmentsRequest) -> rules.MembershipChange:
    now = segmentation.utc_now()
    to_add: list[rules.SegmentToAdd] = []
    for index, item in enumerate(body.segments_to_add):
        field = f"segments_to_add.{index}"
        if isinstance(item, str):
            to_add.append(rules.SegmentToAdd(rules.normalise_slug(item, field)))
        else:
            assert isinstance(item, SegmentToAdd)
            slug = rules.normalise_slug(item.slug, f"{field}.slug")
            to_add.append(
                rules.SegmentToAdd(slug, rules.expiry(item.expires_at, item.ttl_seconds, now, field))
            )
    to_delete = [
        rules.normalise_slug(slug, f"segments_to_delete.{index}")
        for index, slug in enumerate(body.segments_to_delete)
    ]
    return rules.membership_change(to_add, to_delete)


@routes.post(
    f"{API}/segments/user/{{user_id}}",
    summary="Add and delete a user's segments atomically; answers the user's segments afterwards",
    scope=WRITE,
    path_params=UserPath,
    body=UpdateUserSegmentsRequest,
    response=list[str],
    errors=(400, 404),
)
async def update_user_segments(
    request: web.Request, *, path: UserPath, body: UpdateUserSegmentsRequest
) -> list[str]:
    try:
        change = _membership_change(body)
        return await segmentation.update_user(request.app[PG_POOL], path.user_id, change)
    except rules.RuleViolation as exc:
        raise _bad(exc) from exc
    except segmentation.SegmentsNotFound as exc:
        raise _not_found(exc) from exc


@routes.get(
    f"{API}/segments/user/{{user_id}}",
    summary="The user's segments: explicit and rollout memberships, minus expired, deleted, opted-out",
    scope=READ,
    path_params=UserPath,
    response=list[str],
)
async def user_segments(request: web.Request, *, path: UserPath) -> web.Response:
    # The hot path: one prepared query on a pooled connection, no transaction, JSON by hand.
    slugs = await memberships_sql.active_slugs(request.app[PG_POOL], path.user_id)
    return web.Response(text=json.dumps(slugs), content_type="application/json")


@routes.post(
    f"{API}/users",
    summary="Register users (idempotent) so that rollouts cover them",
    scope=WRITE,
    body=RegisterUsersRequest,
    response=Registration,
    errors=(400,),
)
async def register_users(request: web.Request, *, body: RegisterUsersRequest) -> Registration:
    result = await segmentation.register_users(request.app[PG_POOL], body.user_ids)
    return Registration(registered=result.registered, rollout_memberships=result.rollout_memberships)


@routes.get(
    f"{API}/segments/user/{{user_id}}/csv",
    summary="Request the user's membership history for a period as CSV (built by the worker)",
    scope=READ,
    path_params=UserPath,
    query=ReportQuery,
    response=ReportAccepted,
    status=202,
    errors=(400,),
)
async def request_report(request: web.Request, *, path: UserPath, query: ReportQuery) -> ReportAccepted:
    try:
        period = rules.report_period(query.period, query.from_, query.to)
    except rules.RuleViolation as exc:
        raise _bad(exc) from exc
    report_id = await history_report.request_report(request.app[PG_POOL], path.user_id, period)
    return ReportAccepted(report_id=report_id, link=absolute_url(request, f"{API}/reports/{report_id}"))


@routes.get(
    f"{API}/reports/{{report_id}}",
    summary="A history report: 200 text/csv when ready, 202 while pending, 409 report_failed",
    scope=READ,
    path_params=ReportPath,
    response=ReportPending,
    response_content_type="text/csv",
    errors=(404, 409),
)
async def get_report(request: web.Request, *, path: ReportPath) -> web.StreamResponse:
    try:
        report_id = uuid.UUID(path.report_id)
    except ValueError:
        report_id = None  # never issued by us: as unknown as any other id
    report = None if report_id is None else await reports_sql.get_report(request.app[PG_POOL], report_id)
    if report is None:
        raise NotFound(f"report {path.report_id} does not exist", code="report_not_found")
    if report["status"] == "failed":
        raise Conflict(
            f"report {path.report_id} failed: {report['failure_reason']}",
            code="report_failed",
            details={"reason": report["failure_reason"]},
        )
    if report["status"] == "pending":
        pending = ReportPending(report_id=report["report_id"], status="pending")
        return web.Response(status=202, text=pending.model_dump_json(), content_type="application/json")
    store = ObjectStore(request.app[S3_CLIENT])
    response = web.StreamResponse(
        headers={"Content-Disposition": f'attachment; filename="segments-history-{report["user_id"]}.csv"'}
    )
    response.content_type = "text/csv"
    await response.prepare(request)
    async for chunk in store.stream(app_settings(request, Settings).reports_bucket, report["object_key"]):
        await response.write(chunk)
    await response.write_eof()
    return response
