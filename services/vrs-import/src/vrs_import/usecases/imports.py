"""Imports: accepted by the api (checked against the solver, recorded, queued through the outbox),
applied by the worker in one transaction per import, serialized per company."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel

from quintet_contracts.vrs_import import IMPORT_FINISHED, ImportedOrders, ImportedRoute, ImportFinished
from quintet_messaging import enqueue_task, publish_event
from vrs_import import SERVICE
from vrs_import.domain.conflicts import (
    ExistingOrder,
    ExistingRoute,
    OrderConflictMode,
    RouteConflictMode,
    plan_orders,
    plan_routes,
)
from vrs_import.domain.errors import (
    IdempotencyKeyReused,
    ImportFailed,
    ImportNotFound,
    ImportResultNotFound,
    TaskNotImportable,
)
from vrs_import.domain.orders import OrderStatus
from vrs_import.domain.solution import Solution
from vrs_import.solver.client import SolverClient
from vrs_import.storage import depots as depots_sql
from vrs_import.storage import imports as imports_sql
from vrs_import.storage import locks
from vrs_import.storage import orders as orders_sql
from vrs_import.storage import routes as routes_sql
from vrs_import.usecases.solver_tasks import solved_task

log = structlog.get_logger("vrs_import.imports")

IMPORT_TASK = "import"
RUNNING_MESSAGE = "Task is running"
COMPLETED_MESSAGE = "Task is completed"
INTERNAL_ERROR_MESSAGE = "the import failed unexpectedly; it can be submitted again"


class ImportTask(BaseModel):
    import_id: uuid.UUID


@dataclass(frozen=True)
class ImportRequest:
    company_id: int
    task_id: str
    original_task_id: str | None
    order_status: OrderStatus
    route_conflict_mode: RouteConflictMode
    order_conflict_mode: OrderConflictMode

    def body_hash(self) -> str:
        fields = {
            "task_id": self.task_id,
            "original_task_id": self.original_task_id,
            "order_status": str(self.order_status),
            "route_conflict_mode": str(self.route_conflict_mode),
            "order_conflict_mode": str(self.order_conflict_mode),
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ImportState:
    id: uuid.UUID
    status: str
    message: str
    details: Any = None


def _state(row: asyncpg.Record) -> ImportState:
    details = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
    return ImportState(row["id"], row["status"], row["message"], details)


def _same_import(row: asyncpg.Record, body_hash: str) -> ImportState:
    if row["body_hash"] != body_hash:
        raise IdempotencyKeyReused()
    return _state(row)


async def start_import(
    pool: asyncpg.Pool,
    solver: SolverClient,
    request: ImportRequest,
    *,
    idempotency_key: str | None,
    created_by: str,
    max_orders: int,
) -> ImportState:
    """Check the task with the solver (422 when it cannot be imported), record the import and queue
    it. The same idempotency key with the same body answers the import it created."""
    body_hash = request.body_hash()
    if idempotency_key is not None:
        async with pool.acquire() as conn:
            row = await imports_sql.import_by_key(conn, request.company_id, idempotency_key)
        if row is not None:
            return _same_import(row, body_hash)
    await solved_task(solver, request.task_id, max_orders=max_orders)
    import_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        inserted = await imports_sql.insert_import(
            conn,
            import_id,
            request.company_id,
            request.task_id,
            request.original_task_id,
            request.order_status,
            request.route_conflict_mode,
            request.order_conflict_mode,
            RUNNING_MESSAGE,
            idempotency_key,
            body_hash,
            created_by,
        )
        if not inserted:  # a concurrent request with the same key won the race
            assert idempotency_key is not None
            row = await imports_sql.import_by_key(conn, request.company_id, idempotency_key)
            assert row is not None
            return _same_import(row, body_hash)
        await enqueue_task(conn, SERVICE.name, IMPORT_TASK, str(import_id), ImportTask(import_id=import_id))
    return ImportState(import_id, "running", RUNNING_MESSAGE)


async def get_import(pool: asyncpg.Pool, company_id: int, import_id: uuid.UUID) -> ImportState:
    async with pool.acquire() as conn:
        row = await imports_sql.get_import(conn, company_id, import_id)
    if row is None:
        raise ImportNotFound(str(import_id))
    return _state(row)


async def list_imports(
    pool: asyncpg.Pool, company_id: int, *, page: int, per_page: int
) -> list[asyncpg.Record]:
    """The company's import history, newest first, a page at a time."""
    async with pool.acquire() as conn:
        return await imports_sql.company_imports(conn, company_id, per_page, (page - 1) * per_page)


@dataclass(frozen=True)
class ImportResult:
    routes: list[tuple[int, str]]  # (id, number), this page
    total_routes: int
    created: int
    renamed: int
    moved: int


async def get_result(
    pool: asyncpg.Pool, company_id: int, import_id: uuid.UUID, *, page: int, per_page: int
) -> ImportResult:
    async with pool.acquire() as conn:
        row = await imports_sql.get_import(conn, company_id, import_id)
        if row is None:
            raise ImportNotFound(str(import_id))
        if row["status"] != "completed":
            raise ImportResultNotFound(str(import_id), row["status"])
        routes = await imports_sql.import_routes(conn, import_id, per_page, (page - 1) * per_page)
        total = await imports_sql.count_import_routes(conn, import_id)
    return ImportResult(
        [(r["route_id"], r["number"]) for r in routes],
        total,
        row["orders_created"],
        row["orders_renamed"],
        row["orders_moved"],
    )


@dataclass(frozen=True)
class RouteCollision:
    number: str
    existing_route_id: int
    started: bool


@dataclass(frozen=True)
class OrderCollision:
    number: str
    existing_order_id: int
    status: str


@dataclass(frozen=True)
class Conflicts:
    routes: list[RouteCollision]
    orders: list[OrderCollision]


async def preview_conflicts(
    pool: asyncpg.Pool, solver: SolverClient, company_id: int, task_id: str, *, max_orders: int
) -> Conflicts:
    """What importing the task would collide with; nothing is written."""
    solution = await solved_task(solver, task_id, max_orders=max_orders)
    new_routes = {(route.date, route.number) for route in solution.routes}
    numbers = [order.number for route in solution.routes for order in route.orders]
    async with pool.acquire() as conn:
        held_routes = await routes_sql.routes_on_dates(conn, company_id, solution.dates)
        held_orders = await orders_sql.orders_numbered(conn, company_id, numbers)
    return Conflicts(
        routes=sorted(
            (
                RouteCollision(r["number"], r["id"], r["started"])
                for r in held_routes
                if (r["date"], r["number"]) in new_routes
            ),
            key=lambda c: c.number,
        ),
        orders=sorted(
            (OrderCollision(o["number"], o["id"], o["status"]) for o in held_orders), key=lambda c: c.number
        ),
    )


# -- the worker side -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    routes: list[tuple[int, str]]
    created: int
    renamed: int
    moved: int


@dataclass
class _OrderColumns:
    """The solution's orders as columns, ready for one set-based statement."""

    numbers: list[str]
    addresses: list[str]
    lats: list[float]
    lons: list[float]
    window_starts: list[datetime | None]
    window_ends: list[datetime | None]
    service_durations: list[int]
    route_ids: list[int]
    sequences: list[int]
    arrivals: list[datetime]
    ids: list[int]


def _columns() -> _OrderColumns:
    return _OrderColumns([], [], [], [], [], [], [], [], [], [], [])


async def apply_solution(
    conn: asyncpg.Connection,
    import_id: uuid.UUID,
    company_id: int,
    solution: Solution,
    route_mode: RouteConflictMode,
    order_mode: OrderConflictMode,
    order_status: OrderStatus,
) -> Applied:
    """Plan against what the company holds (`ImportFailed` before anything is written), then write
    everything set-based: a statement per kind of change, never one per order."""
    held_routes = [
        ExistingRoute(r["id"], r["number"], r["date"], r["started"])
        for r in await routes_sql.routes_on_dates(conn, company_id, solution.dates)
    ]
    route_plan = plan_routes([(r.date, r.number) for r in solution.routes], held_routes, route_mode)
    numbers = [order.number for route in solution.routes for order in route.orders]
    held_orders = {
        o["number"]: ExistingOrder(o["id"], o["number"], OrderStatus(o["status"]))
        for o in await orders_sql.orders_numbered(conn, company_id, numbers)
    }
    taken: set[str] = set()
    if held_orders and order_mode is OrderConflictMode.RENAME_NEW:
        taken = await orders_sql.suffixed_numbers(conn, company_id, list(held_orders))
    order_plan = plan_orders(numbers, held_orders, taken, order_mode)

    if route_plan.delete:
        await routes_sql.delete_routes(conn, sorted(route_plan.delete))
    depots = {route.depot.number: route.depot for route in solution.routes if route.depot is not None}
    depot_ids = await depots_sql.upsert_depots(
        conn,
        company_id,
        list(depots),
        [d.lat for d in depots.values()],
        [d.lon for d in depots.values()],
        [d.time_window[0] if d.time_window else None for d in depots.values()],
        [d.time_window[1] if d.time_window else None for d in depots.values()],
    )
    route_dates: list[date] = [route.date for route in solution.routes]
    route_ids = await routes_sql.insert_routes(
        conn,
        company_id,
        import_id,
        list(route_plan.numbers),
        route_dates,
        [route.vehicle for route in solution.routes],
        [route.run_number for route in solution.routes],
        [depot_ids[route.depot.number] if route.depot else None for route in solution.routes],
    )
    created, moved = _columns(), _columns()
    position = 0
    for route, number in zip(solution.routes, route_plan.numbers, strict=True):
        route_id = route_ids[(route.date, number)]
        for sequence, order in enumerate(route.orders, start=1):
            existing_id = order_plan.moves.get(position)
            target = created if existing_id is None else moved
            target.numbers.append(order_plan.numbers[position])
            target.addresses.append(order.address)
            target.lats.append(order.lat)
            target.lons.append(order.lon)
            target.window_starts.append(order.time_window[0] if order.time_window else None)
            target.window_ends.append(order.time_window[1] if order.time_window else None)
            target.service_durations.append(order.service_duration_s)
            target.route_ids.append(route_id)
            target.sequences.append(sequence)
            target.arrivals.append(order.planned_arrival)
            if existing_id is not None:
                target.ids.append(existing_id)
            position += 1
    if moved.ids:
        await orders_sql.move_orders(
            conn,
            company_id,
            moved.ids,
            moved.addresses,
            moved.lats,
            moved.lons,
            moved.window_starts,
            moved.window_ends,
            moved.service_durations,
            moved.route_ids,
            moved.sequences,
            moved.arrivals,
        )
    if created.numbers:
        await orders_sql.insert_orders(
            conn,
            company_id,
            order_status,
            created.numbers,
            created.addresses,
            created.lats,
            created.lons,
            created.window_starts,
            created.window_ends,
            created.service_durations,
            created.route_ids,
            created.sequences,
            created.arrivals,
        )
    imported = [
        (route_ids[(route.date, number)], number)
        for route, number in zip(solution.routes, route_plan.numbers, strict=True)
    ]
    await imports_sql.insert_import_routes(
        conn, import_id, [i for i, _ in imported], [n for _, n in imported]
    )
    return Applied(imported, order_plan.created, len(order_plan.renamed), len(order_plan.moves))


async def _finish(
    conn: asyncpg.Connection,
    import_id: uuid.UUID,
    company_id: int,
    status: str,
    message: str,
    *,
    details: Any = None,
    applied: Applied | None = None,
) -> None:
    counts = (applied.created, applied.renamed, applied.moved) if applied else (0, 0, 0)
    await imports_sql.finish_import(conn, import_id, status, message, details, *counts)
    await publish_event(
        conn,
        IMPORT_FINISHED,
        ImportFinished(
            import_id=import_id,
            company_id=company_id,
            status=status,  # type: ignore[arg-type]
            message=message,
            routes=[ImportedRoute(id=i, number=n) for i, n in (applied.routes if applied else [])],
            orders=ImportedOrders(created=counts[0], renamed=counts[1], moved=counts[2]),
        ),
    )


async def run_import(
    conn: asyncpg.Connection, solver: SolverClient, import_id: uuid.UUID, *, max_orders: int
) -> None:
    """The import task, in the worker's transaction: fetch the solution, then, holding the company's
    lock, apply it all or nothing. A conflict its modes forbid ends the import `error` with nothing
    written; anything unexpected raises (the task is retried, then parked as `internal_error`)."""
    row = await imports_sql.lock_import(conn, import_id)
    if row is None or row["status"] != "running":
        return  # a redelivery of an import already finished
    company_id = row["company_id"]
    try:
        solution = await solved_task(solver, row["task_id"], max_orders=max_orders)
    except TaskNotImportable as exc:  # the task changed or vanished since it was accepted
        await _finish(conn, import_id, company_id, "error", str(exc), details=exc.details)
        return
    await locks.lock_company(conn, company_id)
    try:
        async with conn.transaction():  # a savepoint: a failed import leaves nothing behind
            applied = await apply_solution(
                conn,
                import_id,
                company_id,
                solution,
                RouteConflictMode(row["route_conflict_mode"]),
                OrderConflictMode(row["order_conflict_mode"]),
                OrderStatus(row["order_status"]),
            )
    except ImportFailed as exc:
        await _finish(conn, import_id, company_id, "error", str(exc), details=exc.details)
        log.info("import failed", import_id=str(import_id), reason=str(exc))
        return
    await _finish(conn, import_id, company_id, "completed", COMPLETED_MESSAGE, applied=applied)
    log.info(
        "import completed", import_id=str(import_id), routes=len(applied.routes), created=applied.created
    )


async def fail_import(conn: asyncpg.Connection, task_id: str, reason: str) -> None:
    """The import's task was parked (it failed every attempt): the import ends `internal_error`. The
    reason (exception text) goes to the logs, never to clients."""
    row = await imports_sql.lock_import(conn, uuid.UUID(task_id))
    if row is None or row["status"] != "running":
        return
    log.error("import parked", import_id=task_id, reason=reason)
    await _finish(conn, row["id"], row["company_id"], "internal_error", INTERNAL_ERROR_MESSAGE)
