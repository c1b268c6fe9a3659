"""A solver's result turned into the routes and orders an import writes (pure, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vrs_import.domain.numbering import route_number
from vrs_import.solver.models import NodeValue, Result, TaskAnswer, VisitNode

# "07:00-20:00", "07:00:00-20:30:00", "1.07:00-1.20:00" (day offset), or an ISO interval "a/b".
_CLOCK = r"(?:(\d{1,2})\.)?(\d{1,2}):(\d{2})(?::(\d{2}))?"
_WINDOW = re.compile(rf"^{_CLOCK}\s*-\s*{_CLOCK}$")

Window = tuple[datetime, datetime]


class InvalidSolution(ValueError):
    """The result cannot be imported as it is (the message says where)."""


@dataclass(frozen=True, slots=True)
class PlannedDepot:
    number: str
    lat: float
    lon: float
    time_window: Window | None


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    number: str
    address: str
    lat: float
    lon: float
    time_window: Window | None
    service_duration_s: int
    planned_arrival: datetime


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    number: str
    date: date
    vehicle: str
    run_number: int
    depot: PlannedDepot | None
    orders: tuple[PlannedOrder, ...]


@dataclass(frozen=True, slots=True)
class Solution:
    routes: tuple[PlannedRoute, ...]

    @property
    def dates(self) -> list[date]:
        return sorted({route.date for route in self.routes})

    @property
    def order_count(self) -> int:
        return sum(len(route.orders) for route in self.routes)


def zone_of(time_zone: float | str) -> tzinfo:
    if isinstance(time_zone, str):
        try:
            return ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidSolution(f"unknown time zone {time_zone[:64]!r}") from exc
    if not -14 <= time_zone <= 14:
        raise InvalidSolution(f"time zone offset {time_zone} is out of range")
    return timezone(timedelta(hours=time_zone))


def _clock(day: str | None, hours: str, minutes: str, seconds: str | None) -> timedelta:
    return timedelta(days=int(day or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds or 0))


def _iso_interval(text: str) -> Window:
    invalid = InvalidSolution(f"time window {text[:100]!r} is neither HH:MM-HH:MM nor an ISO interval")
    first, sep, second = text.partition("/")
    try:
        start, end = datetime.fromisoformat(first.strip()), datetime.fromisoformat(second.strip())
    except ValueError:
        raise invalid from None
    if not sep or start.tzinfo is None or end.tzinfo is None:
        raise invalid
    return start, end


def parse_window(text: str | None, day: date, zone: tzinfo) -> Window | None:
    """A time window as two instants; relative clocks count from midnight of `day` in `zone`."""
    if text is None or not text.strip():
        return None
    return _parse_window(text, day, zone)


@lru_cache(maxsize=4096)  # a plan repeats a handful of windows over thousands of orders
def _parse_window(text: str, day: date, zone: tzinfo) -> Window:
    match = _WINDOW.match(text.strip())
    if match is not None:
        midnight = datetime.combine(day, time(), zone)
        groups = match.groups()
        start, end = midnight + _clock(*groups[:4]), midnight + _clock(*groups[4:])
    else:
        start, end = _iso_interval(text)
    if end < start:
        raise InvalidSolution(f"time window {text[:100]!r} ends before it starts")
    return start, end


def _number(value: NodeValue) -> str:
    number = value.ref if value.ref is not None else str(value.id)
    if "\x00" in number or not number.strip():
        raise InvalidSolution(f"location {str(value.id)[:100]!r} has an unusable number")
    return number


def solution_from_answer(answer: TaskAnswer, *, max_orders: int) -> Solution:
    """The solution of a solved task; `InvalidSolution` when it cannot be imported."""
    if answer.result is None:
        raise InvalidSolution("the task has no result")
    return solution_from_result(answer.result, max_orders=max_orders)


def solution_from_result(result: Result, *, max_orders: int) -> Solution:
    zone = zone_of(result.options.time_zone)
    refs = {str(vehicle.id): vehicle.ref for vehicle in result.vehicles if vehicle.ref}
    routes: list[PlannedRoute] = []
    seen_routes: set[str] = set()
    seen_orders: set[str] = set()
    midnight = datetime.combine(result.options.date, time(), zone)
    for solved in result.routes:
        vehicle = refs.get(str(solved.vehicle_id), str(solved.vehicle_id))
        if "\x00" in vehicle:
            raise InvalidSolution("a vehicle id or ref contains a NUL character")
        first_arrival = solved.route[0].arrival_time_s if solved.route else 0
        # A multi-day plan: each run is dated by the day it starts on.
        day = result.options.date + timedelta(days=int(first_arrival // 86400))
        depot: PlannedDepot | None = None
        orders: list[PlannedOrder] = []
        for node in solved.route:
            if not isinstance(node.node, VisitNode):
                continue  # garages, breaks: not orders
            value = node.node.value
            if node.node.type == "depot":
                if depot is None:
                    window = parse_window(value.time_window, day, zone)
                    depot = PlannedDepot(_number(value), value.point.lat, value.point.lon, window)
                continue
            number = _number(value)
            if number in seen_orders:
                raise InvalidSolution(f"order {number[:100]!r} appears twice in the solution")
            seen_orders.add(number)
            orders.append(
                PlannedOrder(
                    number=number,
                    address=(value.description or "").replace("\x00", ""),
                    lat=value.point.lat,
                    lon=value.point.lon,
                    time_window=parse_window(value.time_window, day, zone),
                    service_duration_s=int(value.service_duration_s),
                    planned_arrival=midnight + timedelta(seconds=node.arrival_time_s),
                )
            )
            if len(seen_orders) > max_orders:
                raise InvalidSolution(f"the solution has more than {max_orders} orders")
        if not orders:
            continue  # a vehicle that visits nobody is not a route
        number = route_number(vehicle, solved.run_number, day)
        if number in seen_routes:
            raise InvalidSolution(f"route {number[:200]!r} appears twice in the solution")
        seen_routes.add(number)
        routes.append(PlannedRoute(number, day, vehicle, solved.run_number, depot, tuple(orders)))
    if not routes:
        raise InvalidSolution("the solution has no routes")
    return Solution(tuple(routes))
