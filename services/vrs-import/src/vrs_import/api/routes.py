"""HTTP handlers: check the company, parse, call one use case, serialise."""

from __future__ import annotations

import uuid

import asyncpg
from aiohttp import web

from quintet_service import app_settings
from quintet_web import BadRequest, Forbidden, Principal, RouteTable
from vrs_import.api.models import (
    ChangeOrderStatus,
    CompanyPath,
    Conflicts,
    ConflictsQuery,
    ImportedOrders,
    ImportedRoute,
    ImportPath,
    ImportRequestBody,
    ImportResultPage,
    ImportStatus,
    ImportSummary,
    Order,
    OrderConflict,
    OrderPath,
    OrdersQuery,
    Page,
    Point,
    RouteConflict,
    RouteDetail,
    RoutePath,
    RoutesQuery,
    RouteSummary,
    TimeWindow,
)
from vrs_import.domain.errors import ImportNotFound
from vrs_import.keys import PG_POOL, SOLVER, solver_ctx
from vrs_import.settings import Settings
from vrs_import.usecases import imports, plans


class _RoutesWithSolver(RouteTable):
    """The routes and the solver client they call: registering them on the app also registers the
    client's cleanup context (the kit composes the app from the declaration, with no other hook for a
    per-process upstream client)."""

    def register(self, app: web.Application) -> None:
        super().register(app)
        app.cleanup_ctx.append(solver_ctx)


routes = _RoutesWithSolver("vrs-import")

READ = "vrs:read"
WRITE = "vrs:write"
IMPORT = "vrs:import"
COMPANY = "/api/v1/companies/{company_id}"
IDEMPOTENCY_KEY = "Idempotency-Key"
# Handlers that ask the solver: its timeout times its attempts, plus the backoff between them.
SOLVER_CALL_TIMEOUT_S = 60.0


def _company(principal: Principal, company_id: int) -> int:
    if company_id not in principal.companies:
        raise Forbidden(f"the token does not grant company {company_id}", code="company_forbidden")
    return company_id


def _import_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ImportNotFound(raw[:64]) from None  # never issued by us: as unknown as any other id


def _order(row: asyncpg.Record) -> Order:
    window = None
    if row["window_start"] is not None:
        window = TimeWindow(start=row["window_start"], end=row["window_end"])
    return Order(
        id=row["id"],
        number=row["number"],
        status=row["status"],
        address=row["address"],
        point=Point(lat=row["lat"], lon=row["lon"]),
        time_window=window,
        service_duration_s=row["service_duration_s"],
        route_id=row["route_id"],
        sequence=row["sequence"],
        planned_arrival=row["planned_arrival"],
    )


def _status(state: imports.ImportState) -> ImportStatus:
    return ImportStatus(id=str(state.id), status=state.status, message=state.message, details=state.details)  # type: ignore[arg-type]


def _summary(row: asyncpg.Record) -> ImportSummary:
    return ImportSummary(
        id=str(row["id"]),
        task_id=row["task_id"],
        original_task_id=row["original_task_id"],
        status=row["status"],
        message=row["message"],
        order_status=row["order_status"],
        route_conflict_mode=row["route_conflict_mode"],
        order_conflict_mode=row["order_conflict_mode"],
        orders=ImportedOrders(
            created=row["orders_created"], renamed=row["orders_renamed"], moved=row["orders_moved"]
        ),
        created_by=row["created_by"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


# -- routes and orders -----------------------------------------------------------------------------


@routes.get(
    f"{COMPANY}/routes",
    summary="The company's routes on a date",
    scope=READ,
    path_params=CompanyPath,
    query=RoutesQuery,
    response=list[RouteSummary],
    errors=(400, 401, 403),
)
async def list_routes(
    request: web.Request, *, principal: Principal, path: CompanyPath, query: RoutesQuery
) -> list[RouteSummary]:
    company_id = _company(principal, path.company_id)
    rows = await plans.list_routes(
        request.app[PG_POOL], company_id, query.date, page=query.page, per_page=query.per_page
    )
    return [RouteSummary.model_validate(dict(row)) for row in rows]


@routes.get(
    f"{COMPANY}/routes/{{route_id}}",
    summary="A route with its orders in sequence",
    scope=READ,
    path_params=RoutePath,
    response=RouteDetail,
    errors=(400, 401, 403, 404),
)
async def get_route(request: web.Request, *, principal: Principal, path: RoutePath) -> RouteDetail:
    company_id = _company(principal, path.company_id)
    route, orders = await plans.get_route(request.app[PG_POOL], company_id, path.route_id)
    return RouteDetail.model_validate({**dict(route), "orders": [_order(row) for row in orders]})


@routes.get(
    f"{COMPANY}/orders",
    summary="The company's orders, by number",
    scope=READ,
    path_params=CompanyPath,
    query=OrdersQuery,
    response=list[Order],
    errors=(400, 401, 403),
)
async def find_orders(
    request: web.Request, *, principal: Principal, path: CompanyPath, query: OrdersQuery
) -> list[Order]:
    company_id = _company(principal, path.company_id)
    rows = await plans.find_orders(
        request.app[PG_POOL], company_id, query.number, page=query.page, per_page=query.per_page
    )
    return [_order(row) for row in rows]


@routes.patch(
    f"{COMPANY}/orders/{{order_id}}",
    summary="Change an order's status",
    scope=WRITE,
    path_params=OrderPath,
    body=ChangeOrderStatus,
    response=Order,
    errors=(400, 401, 403, 404, 409),
)
async def change_order_status(
    request: web.Request, *, principal: Principal, path: OrderPath, body: ChangeOrderStatus
) -> Order:
    company_id = _company(principal, path.company_id)
    row = await plans.change_order_status(request.app[PG_POOL], company_id, path.order_id, body.status)
    return _order(row)


# -- imports ---------------------------------------------------------------------------------------


# Registered before `vrs-import/{import_id}` so that "conflicts" is never taken for an import id.
@routes.get(
    f"{COMPANY}/vrs-import/conflicts",
    summary="What importing a solver task would collide with (nothing is written)",
    scope=IMPORT,
    path_params=CompanyPath,
    query=ConflictsQuery,
    response=Conflicts,
    errors=(400, 401, 403, 422, 503),
    timeout=SOLVER_CALL_TIMEOUT_S,
)
async def preview_conflicts(
    request: web.Request, *, principal: Principal, path: CompanyPath, query: ConflictsQuery
) -> Conflicts:
    company_id = _company(principal, path.company_id)
    found = await imports.preview_conflicts(
        request.app[PG_POOL],
        request.app[SOLVER],
        company_id,
        query.task_id,
        max_orders=app_settings(request, Settings).max_orders,
    )
    return Conflicts(
        routes=[RouteConflict(**vars(c)) for c in found.routes],
        orders=[OrderConflict(**vars(c)) for c in found.orders],  # type: ignore[arg-type]
    )


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
        message = "Idempotency-Key must be 1-200 printable ASCII characters"
        raise BadRequest(
            message,
            code="validation_error",
            details=[{"field": IDEMPOTENCY_KEY, "message": message, "type": "header"}],
        )
    return key


@routes.post(
    f"{COMPANY}/vrs-import",
    summary="Import a solved task into the company's routes and orders (asynchronous: poll its status)",
    scope=IMPORT,
    path_params=CompanyPath,
    body=ImportRequestBody,
    response=ImportStatus,
    status=202,
    errors=(400, 401, 403, 422, 503),
    timeout=SOLVER_CALL_TIMEOUT_S,
    description="An optional `Idempotency-Key` header: the same key with the same body answers the "
    "same import; with another body, 422.",
)
async def start_import(
    request: web.Request, *, principal: Principal, path: CompanyPath, body: ImportRequestBody
) -> ImportStatus:
    company_id = _company(principal, path.company_id)
    key = _idempotency_key(request)
    state = await imports.start_import(
        request.app[PG_POOL],
        request.app[SOLVER],
        imports.ImportRequest(
            company_id=company_id,
            task_id=body.task_id,
            original_task_id=body.original_task_id,
            order_status=body.order_status,
            route_conflict_mode=body.route_conflict_mode,
            order_conflict_mode=body.order_conflict_mode,
        ),
        idempotency_key=key,
        created_by=principal.sub,
        max_orders=app_settings(request, Settings).max_orders,
    )
    return _status(state)


@routes.get(
    f"{COMPANY}/vrs-import",
    summary="The company's import history, newest first (paged)",
    scope=IMPORT,
    path_params=CompanyPath,
    query=Page,
    response=list[ImportSummary],
    errors=(400, 401, 403),
)
async def list_imports(
    request: web.Request, *, principal: Principal, path: CompanyPath, query: Page
) -> list[ImportSummary]:
    company_id = _company(principal, path.company_id)
    rows = await imports.list_imports(
        request.app[PG_POOL], company_id, page=query.page, per_page=query.per_page
    )
    return [_summary(row) for row in rows]


@routes.get(
    f"{COMPANY}/vrs-import/{{import_id}}",
    summary="An import's status: running, completed, error or internal_error",
    scope=IMPORT,
    path_params=ImportPath,
    response=ImportStatus,
    errors=(400, 401, 403, 404),
)
async def get_import(request: web.Request, *, principal: Principal, path: ImportPath) -> ImportStatus:
    company_id = _company(principal, path.company_id)
    state = await imports.get_import(request.app[PG_POOL], company_id, _import_id(path.import_id))
    return _status(state)


@routes.get(
    f"{COMPANY}/vrs-import/{{import_id}}/result",
    summary="The routes a completed import created (paged) and its order counts",
    scope=IMPORT,
    path_params=ImportPath,
    query=Page,
    response=ImportResultPage,
    errors=(400, 401, 403, 404),
)
async def get_result(
    request: web.Request, *, principal: Principal, path: ImportPath, query: Page
) -> ImportResultPage:
    company_id = _company(principal, path.company_id)
    result = await imports.get_result(
        request.app[PG_POOL],
        company_id,
        _import_id(path.import_id),
        page=query.page,
        per_page=query.per_page,
    )
    return ImportResultPage(
        routes=[ImportedRoute(id=i, number=n) for i, n in result.routes],
        orders=ImportedOrders(created=result.created, renamed=result.renamed, moved=result.moved),
        page=query.page,
        per_page=query.per_page,
        total_routes=result.total_routes,
    )
