"""HTTP handlers: parse, call one use case, serialise. The drafts service calls the admin endpoints
(validate before approval, apply after it and then polls apply); users read their goals."""

from __future__ import annotations

from aiohttp import web

from personal_goals.api.models import (
    ApplyUploadRequest,
    Goal,
    GoalPath,
    GoalsQuery,
    Selection,
    SelectionListQuery,
    SelectionPath,
    SelectionRows,
    SelectionUpload,
    SelectionUploadProgress,
    SkippedGoal,
    UpdateSelectionRequest,
    UploadStatusResponse,
    UploadTableRequest,
    ValidateUploadResponse,
)
from personal_goals.domain.goal_reads import READ, READ_ANY, goals_reader
from personal_goals.settings import Settings
from personal_goals.storage.goals import VisibleGoal
from personal_goals.storage.selections import SelectionSummary
from personal_goals.usecases import goal_reads, selection_upload, selections
from personal_goals.usecases.selection_upload import UploadState
from quintet_service import PG_POOL, S3_CLIENT, app_settings
from quintet_web import Principal, RouteTable

routes = RouteTable("personal-goals")

ADMIN = "goals:admin"


@routes.post(
    "/internal/admin/validate_goals_upload_from_yt",
    summary="Check a goals dataset before the draft is approved",
    scope=ADMIN,
    body=UploadTableRequest,
    response=ValidateUploadResponse,
    errors=(400, 409),
)
async def validate_upload(request: web.Request, *, body: UploadTableRequest) -> ValidateUploadResponse:
    """200 with row counts when the dataset exists and matches the goals schema; 400 naming every
    problem; 409 when an upload of any of its selections has already started."""
    settings = app_settings(request, Settings)
    summary = await selection_upload.validate_upload(
        request.app[PG_POOL], request.app[S3_CLIENT], settings.dataset_policy(), body.table
    )
    return ValidateUploadResponse(
        rows=summary.rows,
        selections=[SelectionRows(selection_id=s, rows=n) for s, n in summary.selections.items()],
    )


@routes.post(
    "/internal/admin/upload_goals_from_yt",
    summary="Start the upload of an approved goals dataset (first call) and report its status",
    scope=ADMIN,
    body=ApplyUploadRequest,
    response=UploadStatusResponse,
    errors=(400, 409),
)
async def apply_upload(request: web.Request, *, body: ApplyUploadRequest) -> UploadStatusResponse:
    """Idempotent: the first call (or the first after a cancel) creates the progress rows and enqueues
    the upload task (task id = the table address); every call answers the current state, so the
    drafts service polls it."""
    settings = app_settings(request, Settings)
    state = await selection_upload.apply_upload(
        request.app[PG_POOL],
        request.app[S3_CLIENT],
        settings.dataset_policy(),
        body.table,
        skipped_offset=body.skipped_offset,
        skipped_limit=body.skipped_limit or settings.skipped_goals_limit,
    )
    return _status_response(state)


@routes.post(
    "/internal/admin/uploads/cancel",
    summary="Cancel a running or failed upload (its selections become cancelled); apply starts it over",
    scope=ADMIN,
    body=UploadTableRequest,
    response=UploadStatusResponse,
    errors=(404, 409),
)
async def cancel_upload(request: web.Request, *, body: UploadTableRequest) -> UploadStatusResponse:
    settings = app_settings(request, Settings)
    state = await selection_upload.cancel_upload(
        request.app[PG_POOL], body.table, skipped_limit=settings.skipped_goals_limit
    )
    return _status_response(state)


def _status_response(state: UploadState) -> UploadStatusResponse:
    return UploadStatusResponse(
        status=state.status,
        selections=[
            SelectionUploadProgress(
                selection_id=p.selection_id,
                status=p.status,  # type: ignore[arg-type]
                last_row_index=p.last_row_index,
                rows=p.total_rows,
                loaded=p.loaded,
                skipped=p.skipped,
            )
            for p in state.selections
        ],
        skipped_goals=[
            SkippedGoal(
                row_index=s.row_index, goal_id=s.goal_id, selection_id=s.selection_id, reason=s.reason
            )
            for s in state.skipped_goals
        ],
        skipped_total=state.skipped_total,
        failure_reason=state.failure_reason,
    )


@routes.post(
    "/internal/admin/selections/update",
    summary="Activate or hide a selection (its goals are visible to users only while active)",
    scope=ADMIN,
    body=UpdateSelectionRequest,
    response=Selection,
    errors=(404,),
)
async def update_selection(request: web.Request, *, body: UpdateSelectionRequest) -> Selection:
    summary = await selections.update_selection_status(request.app[PG_POOL], body.selection_id, body.status)
    return _selection_model(summary)


@routes.get(
    "/internal/admin/selections",
    summary="Selections with goal counts and upload status",
    scope=ADMIN,
    query=SelectionListQuery,
    response=list[Selection],
)
async def list_selections(request: web.Request, *, query: SelectionListQuery) -> list[Selection]:
    summaries = await selections.list_selections(request.app[PG_POOL], offset=query.offset, limit=query.limit)
    return [_selection_model(summary) for summary in summaries]


@routes.get(
    "/internal/admin/selections/{selection_id}",
    summary="One selection with goal counts and upload status",
    scope=ADMIN,
    path_params=SelectionPath,
    response=Selection,
    errors=(404,),
)
async def get_selection(request: web.Request, *, path: SelectionPath) -> Selection:
    summary = await selections.get_selection(request.app[PG_POOL], path.selection_id)
    return _selection_model(summary)


def _selection_model(summary: SelectionSummary) -> Selection:
    upload = None
    if summary.table_address is not None:
        upload = SelectionUpload(
            table=summary.table_address,
            status=summary.upload_status,  # type: ignore[arg-type]
            rows=summary.total_rows or 0,
            last_row_index=summary.last_row_index or 0,
        )
    return Selection(
        selection_id=summary.selection_id,
        status=summary.status,  # type: ignore[arg-type]
        goals=summary.loaded,
        skipped=summary.skipped,
        upload=upload,
        created_at=summary.created_at,
        updated_at=summary.updated_at,
    )


def _goal_model(goal: VisibleGoal) -> Goal:
    return Goal.model_validate(goal, from_attributes=True)


@routes.get(
    "/v1/goals",
    summary="The user's goals: selection active and now within [starts_at, expires_at)",
    scope=(READ, READ_ANY),
    query=GoalsQuery,
    response=list[Goal],
    errors=(400,),
)
async def list_goals(request: web.Request, *, query: GoalsQuery, principal: Principal) -> list[Goal]:
    """The user is the token's subject. A trusted backend (scope goals:read-any) names the user in
    `?yandex_uid=`; no header names a user."""
    user = goals_reader(principal.sub, principal.scopes, query.yandex_uid)
    goals = await goal_reads.visible_goals(request.app[PG_POOL], user)
    return [_goal_model(goal) for goal in goals]


@routes.get(
    "/v1/goals/{goal_id}",
    summary="One of the user's visible goals",
    scope=(READ, READ_ANY),
    path_params=GoalPath,
    query=GoalsQuery,
    response=Goal,
    errors=(400, 404),
)
async def get_goal(request: web.Request, *, path: GoalPath, query: GoalsQuery, principal: Principal) -> Goal:
    user = goals_reader(principal.sub, principal.scopes, query.yandex_uid)
    goal = await goal_reads.visible_goal(request.app[PG_POOL], user, path.goal_id)
    return _goal_model(goal)
