"""HTTP handlers: parse, call one use case, serialise. Exceptions are answered by `segments.errors`."""

from __future__ import annotations

import json

from aiohttp import web

from quintet_s3 import ObjectStore
from quintet_service import PG_POOL, S3_CLIENT, app_settings
from quintet_web import RouteTable, absolute_url
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
from segments.domain import model, rules
from segments.settings import Settings
from segments.usecases import history_reports, memberships, segments

routes = RouteTable("segments")

READ = "segments:read"
WRITE = "segments:write"
API = "/api/v1"
# How long a client should wait before asking for a pending report again (seconds).
REPORT_RETRY_AFTER = 1
# A rollout is materialised before the answer (every known user covered): over millions of users
# that can take longer than the platform's default handler timeout. A growth cut short is finished
# by the worker (and by a repeated request).
ROLLOUT_TIMEOUT = 300.0


def _segment(segment: model.Segment) -> Segment:
    return Segment(slug=segment.slug, percent=segment.percent, created_at=segment.created_at)


@routes.post(
    f"{API}/segment",
    summary="Create a segment, optionally with a sticky percentage rollout over every known user",
    scope=WRITE,
    body=CreateSegmentRequest,
    response=Segment,
    status=201,
    errors=(400, 409),
    timeout=ROLLOUT_TIMEOUT,
)
async def create_segment(request: web.Request, *, body: CreateSegmentRequest) -> Segment:
    slug = rules.normalise_slug(body.slug)
    buckets = rules.rollout_buckets(body.percent, body.selection)
    settings = app_settings(request, Settings)
    segment, _ = await segments.create_segment(
        request.app[PG_POOL],
        slug,
        buckets,
        settings.rollout_batch_users,
        pause_ratio=settings.rollout_pause_ratio,
    )
    return _segment(segment)


@routes.patch(
    f"{API}/segment/{{slug}}",
    summary="Change a segment's rollout percent (sticky: grows or shrinks the same population)",
    scope=WRITE,
    path_params=SegmentPath,
    body=ChangeRolloutRequest,
    response=Segment,
    errors=(400, 404),
    timeout=ROLLOUT_TIMEOUT,
)
async def change_rollout(request: web.Request, *, path: SegmentPath, body: ChangeRolloutRequest) -> Segment:
    slug = rules.normalise_slug(path.slug)
    if body.percent is None and body.selection is None:
        raise rules.RuleViolation("percent", "percent is required")
    buckets = rules.rollout_buckets(body.percent, body.selection)
    settings = app_settings(request, Settings)
    changed = await segments.change_rollout(
        request.app[PG_POOL],
        slug,
        buckets,
        settings.rollout_batch_users,
        pause_ratio=settings.rollout_pause_ratio,
    )
    return _segment(changed)


@routes.delete(
    f"{API}/segment/{{slug}}",
    summary="Soft-delete a segment: every active membership ends (history reason segment_deleted)",
    scope=WRITE,
    path_params=SegmentPath,
    status=204,
    errors=(400, 404),
    timeout=ROLLOUT_TIMEOUT,  # ends every membership (a whole rollout) in one statement
)
async def delete_segment(request: web.Request, *, path: SegmentPath) -> None:
    await segments.delete_segment(request.app[PG_POOL], rules.normalise_slug(path.slug))


@routes.get(
    f"{API}/segments",
    summary="The live segments with their rollout percent",
    scope=READ,
    response=list[Segment],
)
async def list_segments(request: web.Request) -> list[Segment]:
    return [_segment(s) for s in await segments.list_segments(request.app[PG_POOL])]


def _membership_change(body: UpdateUserSegmentsRequest) -> rules.MembershipChange:
    now = memberships.utc_now()
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
    change = _membership_change(body)
    return await memberships.update_user(request.app[PG_POOL], path.user_id, change)


@routes.get(
    f"{API}/segments/user/{{user_id}}",
    summary="The user's segments: explicit and rollout memberships, minus expired, deleted, opted-out",
    scope=READ,
    path_params=UserPath,
    response=list[str],
)
async def user_segments(request: web.Request, *, path: UserPath) -> web.Response:
    # The hot path: one prepared query on a pooled connection, no transaction, JSON by hand.
    slugs = await memberships.user_segments(request.app[PG_POOL], path.user_id)
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
    result = await memberships.register_users(request.app[PG_POOL], body.user_ids)
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
    period = rules.report_period(query.period, query.from_, query.to)
    report_id = await history_reports.request_report(request.app[PG_POOL], path.user_id, period)
    return ReportAccepted(report_id=report_id, link=absolute_url(request, f"{API}/reports/{report_id}"))


@routes.get(
    f"{API}/reports/{{report_id}}",
    summary="A history report: 200 text/csv when ready, 202 while pending, 409 report_failed, 410 gone",
    description=(
        'While the report is being built: 202 `{"report_id", "status": "pending"}` with a'
        " `Retry-After` header (seconds). A report whose file is no longer stored: 410 `report_gone`."
    ),
    scope=READ,
    path_params=ReportPath,
    response=str,
    response_content_type="text/csv",
    errors=(404, 409, 410),
    timeout=None,  # streams for as long as the client reads
)
async def get_report(request: web.Request, *, path: ReportPath) -> web.StreamResponse:
    download = await history_reports.download_report(
        request.app[PG_POOL],
        ObjectStore(request.app[S3_CLIENT]),
        app_settings(request, Settings).reports_bucket,
        path.report_id,
    )
    report = download.report
    if download.chunks is None:
        pending = ReportPending(report_id=report.report_id, status="pending")
        return web.Response(
            status=202,
            text=pending.model_dump_json(),
            content_type="application/json",
            headers={"Retry-After": str(REPORT_RETRY_AFTER)},
        )
    response = web.StreamResponse(
        headers={"Content-Disposition": f'attachment; filename="segments-history-{report.user_id}.csv"'}
    )
    response.content_type = "text/csv"
    await response.prepare(request)
    async for chunk in download.chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
