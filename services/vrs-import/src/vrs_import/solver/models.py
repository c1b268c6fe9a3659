"""What the solver answers for a task (`GET /vrs/api/v1/result/mvrp/{id}`), bounded: a solver is an
upstream, so nothing in its answer is trusted to be small or well-formed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

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


class VisitNode(_Lenient):
    """A depot or a location: the nodes an import reads."""

    type: Literal["depot", "location"]
    value: NodeValue


class OtherNode(_Lenient):
    """Any other node a solver may put on a route (a garage, a break…): skipped by an import."""

    type: Annotated[str, StringConstraints(max_length=50)]
    value: Any = None


def _node_kind(node: Any) -> str:
    kind = node.get("type") if isinstance(node, dict) else getattr(node, "type", None)
    return "visit" if kind in ("depot", "location") else "other"


class RouteNode(_Lenient):
    # One validation pass over the whole answer (in pydantic-core), the node's type choosing its model.
    node: Annotated[
        Annotated[VisitNode, Tag("visit")] | Annotated[OtherNode, Tag("other")], Discriminator(_node_kind)
    ]
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
