"""Request and response models of the api (they make the OpenAPI document too)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vrs_import.domain.conflicts import OrderConflictMode, RouteConflictMode
from vrs_import.domain.orders import OrderStatus

MAX_ID = 2**63 - 1
CompanyId = Annotated[
    int, Field(ge=1, le=MAX_ID, description="the company (must be in the token's companies)")
]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
# The solver's task ids: UUIDs or its own dashed hex form; never anything a URL path would mangle.
TaskId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Number = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompanyPath(_Strict):
    company_id: CompanyId


class RoutePath(_Strict):
    company_id: CompanyId
    route_id: RowId


class OrderPath(_Strict):
    company_id: CompanyId
    order_id: RowId


class ImportPath(_Strict):
    company_id: CompanyId
    import_id: Annotated[str, StringConstraints(max_length=64)]


class Page(_Strict):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(100, ge=1, le=1000)


class RoutesQuery(Page):
    date: date


class OrdersQuery(Page):
    number: Number | None = None


class ConflictsQuery(_Strict):
    task_id: TaskId


class ImportRequestBody(_Strict):
    task_id: TaskId = Field(description="the solved task in the routing solver")
    original_task_id: TaskId | None = Field(None, description="the task it was derived from, if any")
    order_status: Literal[OrderStatus.NEW, OrderStatus.CONFIRMED] = Field(description="status of new orders")
    route_conflict_mode: RouteConflictMode
    order_conflict_mode: OrderConflictMode


class ImportStatus(BaseModel):
    id: str
    status: Literal["running", "completed", "error", "internal_error"]
    message: str
    details: dict[str, object] | None = Field(None, description="what a failed import collided with")


class ImportedRoute(BaseModel):
    id: int
    number: str


class ImportedOrders(BaseModel):
    created: int
    renamed: int
    moved: int


class ImportSummary(BaseModel):
    """One import of the company's history."""

    id: str
    task_id: str
    original_task_id: str | None
    status: Literal["running", "completed", "error", "internal_error"]
    message: str
    order_status: str
    route_conflict_mode: str
    order_conflict_mode: str
    orders: ImportedOrders = Field(description="orders created, renamed and moved (0 until completed)")
    created_by: str = Field(description="the subject of the token that started it")
    created_at: datetime
    finished_at: datetime | None


class ImportResultPage(BaseModel):
    routes: list[ImportedRoute]
    orders: ImportedOrders
    page: int
    per_page: int
    total_routes: int


class RouteConflict(BaseModel):
    number: str
    existing_route_id: int
    started: bool


class OrderConflict(BaseModel):
    number: str
    existing_order_id: int
    status: OrderStatus


class Conflicts(BaseModel):
    routes: list[RouteConflict]
    orders: list[OrderConflict]


class Point(BaseModel):
    lat: float
    lon: float


class TimeWindow(BaseModel):
    start: datetime
    end: datetime


class Order(BaseModel):
    id: int
    number: str
    status: OrderStatus
    address: str
    point: Point
    time_window: TimeWindow | None
    service_duration_s: int
    route_id: int | None
    sequence: int | None
    planned_arrival: datetime | None


class RouteSummary(BaseModel):
    id: int
    number: str
    date: date
    vehicle: str
    run_number: int
    depot: str | None
    started: bool
    orders: int = Field(description="how many orders the route has")


class RouteDetail(BaseModel):
    id: int
    number: str
    date: date
    vehicle: str
    run_number: int
    depot: str | None
    started: bool
    orders: list[Order] = Field(description="in sequence")


class ChangeOrderStatus(_Strict):
    status: OrderStatus
