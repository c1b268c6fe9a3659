"""HTTP handlers: parse, call one service function, serialise. The drafts service calls the admin
endpoints (validate before approval, apply after it and then polls apply); users read their goals."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from personal_goals import selection_upload
from personal_goals.api.models import (
    ApplyUploadRequest,
    Goal,
    GoalPath,
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
from personal_goals.selections import update_selection_status
from personal_goals.settings import Settings
from personal_goals.storage import goals as goals_sql
from personal_goals.storage import selections as selections_sql
from quintet_service import PG_POOL, S3_CLIENT, app_settings
from quintet_web import BadRequest, Conflict, NotFound, Principal, RouteTable

routes = RouteTable("personal-goals")

ADMIN = "goals:admin"
READ = "goals:read"


def _bad_dataset(exc: selection_upload.DatasetInvalid) -> BadRequest:
    return BadRequest(
        f"dataset {exc.table} cannot be uploaded: {exc}", code="invalid_dataset", details=exc.problems
    )


def _conflict(exc: selection_upload.SelectionsAlreadyUploading) -> Conflict:
    return Conflict(str(exc), code="upload_already_started", details={"selection_ids": exc.selection_ids})


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
    try:
        summary = await selection_upload.validate_upload(
            request.app[PG_POOL], request.app[S3_CLIENT], body.table
        )
    except selection_upload.DatasetInvalid as exc:
        raise _bad_dataset(exc) from exc
    except selection_upload.SelectionsAlreadyUploading as exc:
        raise _conflict(exc) from exc
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
    """Idempotent: the first call creates the progress rows and enqueues the upload task (task id =
    the table address); every call answers the current state, so the drafts service polls it."""
    settings = app_settings(request, Settings)
    try:
        state = await selection_upload.apply_upload(
            request.app[PG_POOL],
            request.app[S3_CLIENT],
            body.table,
            skipped_offset=body.skipped_offset,
            skipped_limit=body.skipped_limit or settings.skipped_goals_limit,
        )
    except selection_upload.DatasetInvalid as exc:
        raise _bad_dataset(exc) from exc
    except selection_upload.SelectionsAlreadyUploading as exc:
        raise _conflict(exc) from exc
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
    pool = request.app[PG_POOL]
    if not await update_selection_status(pool, body.selection_id, body.status):
        raise NotFound(f"selection {body.selection_id!r} does not exist", code="selection_not_found")
    return await _selection(pool, body.selection_id)


@routes.get(
    "/internal/admin/selections",
    summary="Selections with goal counts and upload status",
    scope=ADMIN,
    query=SelectionListQuery,
    response=list[Selection],
)
async def list_selections(request: web.Request, *, query: SelectionListQuery) -> list[Selection]:
    async with request.app[PG_POOL].acquire() as conn:
        rows = await selections_sql.list_selections(conn, offset=query.offset, limit=query.limit)
    return [_selection_model(row) for row in rows]


@routes.get(
    "/internal/admin/selections/{selection_id}",
    summary="One selection with goal counts and upload status",
    scope=ADMIN,
    path_params=SelectionPath,
    response=Selection,
    errors=(404,),
)
async def get_selection(request: web.Request, *, path: SelectionPath) -> Selection:
    return await _selection(request.app[PG_POOL], path.selection_id)


async def _selection(pool: asyncpg.Pool, selection_id: str) -> Selection:
    async with pool.acquire() as conn:
        row = await selections_sql.get_selection(conn, selection_id)
    if row is None:
        raise NotFound(f"selection {selection_id!r} does not exist", code="selection_not_found")
    return _selection_model(row)


def _selection_model(row: Any) -> Selection:
    upload = None
    if row["table_address"] is not None:
        upload = SelectionUpload(
            table=row["table_address"],
            status=row["upload_status"],
            rows=row["total_rows"],
            last_row_index=row["last_row_index"],
        )
    return Selection(
        selection_id=row["selection_id"],
        status=row["status"],
        goals=row["loaded"],
        skipped=row["skipped"],
        upload=upload,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _user(request: web.Request, principal: Principal) -> str:
    """The user is X-Yandex-UID (set by the gateway for user traffic) or else the token's subject."""
    uid = request.headers.get("X-Yandex-UID", "").strip() or principal.sub
    if not uid:
        raise BadRequest("no user: send X-Yandex-UID or a token with a subject", code="missing_user")
    return uid


@routes.get(
    "/v1/goals",
    summary="The user's goals: selection active and now within [starts_at, expires_at)",
    scope=READ,
    response=list[Goal],
)
async def list_goals(request: web.Request, *, principal: Principal) -> list[Goal]:
    async with request.app[PG_POOL].acquire() as conn:
        rows = await goals_sql.visible_goals(conn, _user(request, principal))
    return [Goal.model_validate(dict(row)) for row in rows]


@routes.get(
    "/v1/goals/{goal_id}",
    summary="One of the user's visible goals",
    scope=READ,
    path_params=GoalPath,
    response=Goal,
    errors=(404,),
)
async def get_goal(request: web.Request, *, path: GoalPath, principal: Principal) -> Goal:
    async with request.app[PG_POOL].acquire() as conn:
        row = await goals_sql.visible_goal(conn, _user(request, principal), path.goal_id)
    if row is None:
        raise NotFound(f"goal {path.goal_id!r} not found", code="goal_not_found")
    return Goal.model_validate(dict(row))
