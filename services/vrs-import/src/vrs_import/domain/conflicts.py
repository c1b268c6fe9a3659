"""Route and order conflict modes: pure functions from what the company has to what an import does.

Both take only numbers (and the facts a mode needs: a route's `started`, an order's status), so every
row of both mode tables is testable without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from vrs_import.domain.errors import OrderConflict, OrdersInProgress, RouteConflict
from vrs_import.domain.numbering import first_free
from vrs_import.domain.orders import IN_PROGRESS, OrderStatus


class RouteConflictMode(StrEnum):
    NO_CONFLICT = "no_conflict"  # any collision fails the import
    REPLACE_ALL = "replace_all"  # the company's routes on the task's dates are deleted first
    REPLACE_NOT_STARTED = "replace_not_started"  # only those not started; collisions with kept ones renamed
    RENAME_NEW = "rename_new"  # existing routes stay; colliding new ones get the first free suffix


class OrderConflictMode(StrEnum):
    NO_CONFLICT = "no_conflict"  # any collision fails the import
    RENAME_NEW = "rename_new"  # the new order gets the first free suffix
    MOVE_EXISTING = "move_existing"  # the existing order moves onto its new route (unless under way)


@dataclass(frozen=True)
class ExistingRoute:
    id: int
    number: str
    date: date
    started: bool


@dataclass(frozen=True)
class RoutePlan:
    delete: frozenset[int]  # ids of the company's routes to delete (their orders become unassigned)
    numbers: tuple[str, ...]  # the final number of each new route, in the order given
    renamed: frozenset[int]  # positions of new routes whose number got a suffix


def plan_routes(
    new: Sequence[tuple[date, str]], existing: Sequence[ExistingRoute], mode: RouteConflictMode
) -> RoutePlan:
    """`new`: (date, number) of each route of the solution. `existing`: the company's routes on those
    dates (others are ignored). A route collides with an existing one of the same number and date."""
    dates = {day for day, _ in new}
    on_dates = [route for route in existing if route.date in dates]
    if mode is RouteConflictMode.NO_CONFLICT:
        existing_keys = {(route.date, route.number) for route in on_dates}
        collisions = [number for day, number in new if (day, number) in existing_keys]
        if collisions:
            raise RouteConflict(collisions)
        return RoutePlan(frozenset(), tuple(number for _, number in new), frozenset())
    if mode is RouteConflictMode.REPLACE_ALL:
        delete = [route for route in on_dates]
    elif mode is RouteConflictMode.REPLACE_NOT_STARTED:
        delete = [route for route in on_dates if not route.started]
    else:
        delete = []
    deleted = {route.id for route in delete}
    kept = {(route.date, route.number) for route in on_dates if route.id not in deleted}
    # Every number a suffix must avoid, per date: the kept routes and the solution's own numbers.
    occupied: dict[date, set[str]] = {day: set() for day in dates}
    for day, number in [*kept, *new]:
        occupied[day].add(number)
    numbers: list[str] = []
    renamed: set[int] = set()
    for position, (day, number) in enumerate(new):
        if (day, number) in kept:
            number = first_free(number, occupied[day])
            occupied[day].add(number)
            renamed.add(position)
        numbers.append(number)
    return RoutePlan(frozenset(deleted), tuple(numbers), frozenset(renamed))


@dataclass(frozen=True)
class ExistingOrder:
    id: int
    number: str
    status: OrderStatus


@dataclass(frozen=True)
class OrderPlan:
    numbers: tuple[str, ...]  # the final number of each new order, in the order given
    moves: Mapping[int, int]  # position of a new order -> id of the existing order it updates
    renamed: frozenset[int]  # positions of new orders created under a suffixed number

    @property
    def created(self) -> int:
        return len(self.numbers) - len(self.moves)


def plan_orders(
    new: Sequence[str],
    existing: Mapping[str, ExistingOrder],
    taken: frozenset[str] | set[str],
    mode: OrderConflictMode,
) -> OrderPlan:
    """`new`: the solution's order numbers (distinct). `existing`: the company's orders with one of
    those numbers. `taken`: the company's order numbers a suffix could collide with (at least the
    `number-N` forms of colliding numbers)."""
    collisions = [number for number in new if number in existing]
    if collisions and mode is OrderConflictMode.NO_CONFLICT:
        raise OrderConflict(collisions)
    if mode is OrderConflictMode.MOVE_EXISTING:
        under_way = [number for number in collisions if existing[number].status in IN_PROGRESS]
        if under_way:
            raise OrdersInProgress(under_way)
        moves = {position: existing[number].id for position, number in enumerate(new) if number in existing}
        return OrderPlan(tuple(new), moves, frozenset())
    occupied = set(taken) | set(existing) | set(new)
    numbers: list[str] = []
    renamed: set[int] = set()
    for position, number in enumerate(new):
        if number in existing:
            number = first_free(number, occupied)
            occupied.add(number)
            renamed.add(position)
        numbers.append(number)
    return OrderPlan(tuple(numbers), {}, frozenset(renamed))
