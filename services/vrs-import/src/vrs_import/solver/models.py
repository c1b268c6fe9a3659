"""What the solver answers for a task (`GET /vrs/api/v1/result/mvrp/{id}`), bounded: a solver is an
upstream, so nothing in its answer is trusted to be small or well-formed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_ROUTES = 5_000
MAX_NODES_PER_ROUTE = 10_000

Text = Annotated[str, StringConstraints(max_length=1000)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Id = int | Ref


class _Lenient(BaseModel):
    # A solver adds fields over time; we read what we need and ignore the rest.
    model_config = ConfigDict(extra="ignore")


class Point(_Lenient):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class NodeValue(_Lenient):
    id: Id
    ref: Ref | None = None
    point: Point
    time_window: Annotated[str, StringConstraints(max_length=100)] | None = None
    service_duration_s: float = Field(0, ge=0, le=7 * 86400)
    description: Text | None = None


class Node(_Lenient):
    type: Annotated[str, StringConstraints(max_length=50)]
    value: dict[str, Any] = Field(default_factory=dict)


class RouteNode(_Lenient):
    node: Node
    arrival_time_s: float = Field(ge=0, le=60 * 86400)


class SolvedRoute(_Lenient):
    vehicle_id: Id
    run_number: int = Field(1, ge=1, le=1000)
    route: list[RouteNode] = Field(max_length=MAX_NODES_PER_ROUTE)


class Vehicle(_Lenient):
    id: Id
    ref: Ref | None = None


class ResultOptions(_Lenient):
    date: date
    # Hours from UTC (the solver's own form) or an IANA zone name.
    time_zone: float | Annotated[str, StringConstraints(max_length=64)] = 0


class Result(_Lenient):
    solver_status: Annotated[str, StringConstraints(max_length=100)] | None = None
    routes: list[SolvedRoute] = Field(default_factory=list, max_length=MAX_ROUTES)
    vehicles: list[Vehicle] = Field(default_factory=list, max_length=MAX_ROUTES)
    options: ResultOptions


class TaskError(_Lenient):
    message: Text = ""


class TaskAnswer(_Lenient):
    """The task's state: `status` maps stages (queued, started, completed, failed…) to unix times."""

    id: Ref
    status: dict[Annotated[str, StringConstraints(max_length=50)], float] = Field(max_length=20)
    message: Text | None = None
    error: TaskError | None = None
    result: Result | None = None
