"""The routing solver (Yandex Routing MVRP API shape), solving for real with VROOM (pyvroom).

- `POST /vrs/api/v1/add/mvrp` `{"depot", "locations", "vehicles", "options"}` → 202 `{"id", "status":
  {"queued": <unix time>}}`; the task is solved in a thread (the event loop stays free).
- `GET /vrs/api/v1/result/mvrp/{id}` → 202 while queued or running, 200 with `result` when solved,
  200 with `status.failed` and `error` when solving failed, 404 for an unknown id.
- `options.stand_in_state: "queued" | "failed"` keeps a task in that state (for tests).
- `POST /_stand-in/solver/solved` `{"result": {...}}` → 201 `{"id"}`: a task already solved with the
  given result, for tests and benchmarks that need a large solution without solving it.

Travel times come from straight-line (haversine) distance at a fixed speed; time windows and service
durations are honoured; every vehicle starts and ends at the depot within the depot's time window.
Tasks live in memory.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, StringConstraints, ValidationError

SPEED_M_PER_S = 30 / 3.6  # a city van: 30 km/h
MAX_LOCATIONS = 2_000
_CLOCK = re.compile(r"^(?:(\d{1,2})\.)?(\d{1,2}):(\d{2})(?::(\d{2}))?$")

Ref = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class Point(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Depot(BaseModel):
    id: int | Ref
    ref: Ref | None = None
    point: Point
    time_window: Annotated[str, StringConstraints(max_length=40)] = "00:00-23:59"


class Location(BaseModel):
    id: int | Ref
    ref: Ref | None = None
    point: Point
    time_window: Annotated[str, StringConstraints(max_length=40)] = "00:00-23:59"
    service_duration_s: int = Field(0, ge=0, le=86400)
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None


class Vehicle(BaseModel):
    id: int | Ref
    ref: Ref | None = None


class Options(BaseModel):
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    time_zone: float | Annotated[str, StringConstraints(max_length=64)] = 0
    solver_time_limit_s: float = Field(2, ge=0, le=60)
    stand_in_state: Literal["queued", "failed"] | None = None


class Task(BaseModel):
    depot: Depot
    locations: list[Location] = Field(min_length=1, max_length=MAX_LOCATIONS)
    vehicles: list[Vehicle] = Field(min_length=1, max_length=200)
    options: Options


class SolvedTask(BaseModel):
    result: dict[str, Any]


@dataclass
class _Entry:
    id: str
    status: dict[str, float]
    result: dict[str, Any] | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SolverState:
    tasks: dict[str, _Entry] = field(default_factory=dict)
    running: set[asyncio.Task[None]] = field(default_factory=set)


SOLVER = web.AppKey("stand_in_solver", SolverState)


def _seconds(clock: str) -> int:
    match = _CLOCK.match(clock.strip())
    if match is None:
        raise ValueError(f"bad clock {clock!r}")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)


def window_seconds(text: str) -> tuple[int, int]:
    """ "07:00-20:00" → seconds from midnight (a "1." prefix is the next day)."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"bad time window {text!r}")
    return _seconds(start), _seconds(end)


def _travel_s(a: Point, b: Point) -> int:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return round(2 * 6_371_000 * math.asin(math.sqrt(h)) / SPEED_M_PER_S)


def _node(kind: str, item: Depot | Location, arrival: int, waiting: int = 0) -> dict[str, Any]:
    return {
        "node": {"type": kind, "value": item.model_dump(exclude_none=True)},
        "arrival_time_s": arrival,
        # Arriving before the time window opens means waiting for it (service starts at its opening).
        "waiting_duration_s": waiting,
    }


def solve(task: Task) -> dict[str, Any]:
    """Solve with VROOM; the answer in the solver's result format."""
    import vroom  # imported here: pyvroom (numpy, pandas) loads only when something is solved

    points = [task.depot.point, *(location.point for location in task.locations)]
    matrix = [[_travel_s(a, b) for b in points] for a in points]
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=matrix)
    depot_start, depot_end = window_seconds(task.depot.time_window)
    for index, _ in enumerate(task.vehicles):
        problem.add_vehicle(
            vroom.Vehicle(index, start=0, end=0, time_window=vroom.TimeWindow(depot_start, depot_end))
        )
    for index, location in enumerate(task.locations):
        start, end = window_seconds(location.time_window)
        problem.add_job(
            vroom.Job(
                index,
                location=index + 1,
                default_service=location.service_duration_s,
                time_windows=[vroom.TimeWindow(start, end)],
            )
        )
    limit = task.options.solver_time_limit_s
    solution = problem.solve(
        exploration_level=5, nb_threads=1, timeout=timedelta(seconds=limit) if limit > 0 else None
    )
    steps = solution.routes
    routes: list[dict[str, Any]] = []
    for vehicle_index in sorted(set(int(v) for v in steps["vehicle_id"])):
        rows = steps[steps["vehicle_id"] == vehicle_index]
        nodes: list[dict[str, Any]] = []
        for row in rows.itertuples():
            if row.type in ("start", "end"):
                nodes.append(_node("depot", task.depot, int(row.arrival)))
            elif row.type == "job":
                location = task.locations[int(row.id)]
                nodes.append(_node("location", location, int(row.arrival), int(row.waiting_time)))
        if len(nodes) > 2:
            vehicle = task.vehicles[vehicle_index]
            routes.append({"vehicle_id": vehicle.id, "run_number": 1, "route": nodes})
    assigned = {int(i) for i in steps[steps["type"] == "job"]["id"]}
    dropped = [
        {"id": location.id, "ref": location.ref}
        for index, location in enumerate(task.locations)
        if index not in assigned
    ]
    return {
        "solver_status": "SOLVED",
        "routes": routes,
        "dropped_locations": dropped,
        "vehicles": [vehicle.model_dump(exclude_none=True) for vehicle in task.vehicles],
        "options": task.options.model_dump(exclude_none=True, exclude={"stand_in_state"}),
    }


async def _solve_in_thread(entry: _Entry, task: Task) -> None:
    entry.status["started"] = time.time()
    try:
        entry.result = await asyncio.to_thread(solve, task)
        entry.status["completed"] = time.time()
    except Exception as exc:  # a stand-in: report the failure as the solver would
        entry.error = f"solving failed: {type(exc).__name__}"
        entry.status["failed"] = time.time()


async def add_mvrp(request: web.Request) -> web.Response:
    state = request.app[SOLVER]
    try:
        task = Task.model_validate_json(await request.read())
        window_seconds(task.depot.time_window)
        for location in task.locations:
            window_seconds(location.time_window)
    except (ValidationError, ValueError) as exc:
        return web.json_response({"error": {"message": str(exc)[:2000]}}, status=400)
    entry = _Entry(id=str(uuid.uuid4()), status={"queued": time.time()})
    state.tasks[entry.id] = entry
    if task.options.stand_in_state == "failed":
        entry.error = "the task failed (stand_in_state)"
        entry.status["failed"] = time.time()
    elif task.options.stand_in_state is None:
        running = asyncio.ensure_future(_solve_in_thread(entry, task))
        state.running.add(running)
        running.add_done_callback(state.running.discard)
    return web.json_response({"id": entry.id, "status": entry.status, "message": "Task queued"}, status=202)


async def add_solved(request: web.Request) -> web.Response:
    try:
        solved = SolvedTask.model_validate_json(await request.read())
    except ValidationError as exc:
        return web.json_response({"error": {"message": str(exc)[:2000]}}, status=400)
    now = time.time()
    entry = _Entry(id=str(uuid.uuid4()), status={"queued": now, "started": now, "completed": now})
    entry.result = solved.result
    request.app[SOLVER].tasks[entry.id] = entry
    return web.json_response({"id": entry.id}, status=201)


async def result_mvrp(request: web.Request) -> web.Response:
    entry = request.app[SOLVER].tasks.get(request.match_info["task_id"])
    if entry is None:
        return web.json_response({"error": {"message": "task not found"}}, status=404)
    body: dict[str, Any] = {"id": entry.id, "status": entry.status}
    if entry.error is not None:
        body.update(message=entry.error, error={"message": entry.error})
        return web.json_response(body, status=200)
    if entry.result is None:
        body["message"] = "Task is running" if "started" in entry.status else "Task queued"
        return web.json_response(body, status=202)
    body.update(message="Task successfully completed", result=entry.result)
    return web.json_response(body, status=200)


async def _solver_state(app: web.Application) -> AsyncIterator[None]:
    app[SOLVER] = SolverState()
    yield
    for running in list(app[SOLVER].running):
        running.cancel()
    await asyncio.gather(*app[SOLVER].running, return_exceptions=True)


def register(app: web.Application) -> None:
    app.cleanup_ctx.append(_solver_state)
    app.router.add_post("/vrs/api/v1/add/mvrp", add_mvrp)
    app.router.add_get("/vrs/api/v1/result/mvrp/{task_id}", result_mvrp)
    app.router.add_post("/_stand-in/solver/solved", add_solved)
