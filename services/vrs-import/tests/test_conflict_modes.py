"""The tables of both conflict-mode sets, as pure functions over numbers (no I/O)."""

from __future__ import annotations

from datetime import date

import pytest

from vrs_import.domain.conflicts import (
    ExistingOrder,
    ExistingRoute,
    OrderConflictMode,
    RouteConflictMode,
    plan_orders,
    plan_routes,
)
from vrs_import.domain.errors import OrderConflict, OrdersInProgress, RouteConflict
from vrs_import.domain.numbering import first_free, route_number
from vrs_import.domain.orders import OrderStatus

DAY = date(2026, 12, 2)
OTHER_DAY = date(2026, 12, 3)
A, B = route_number("van", 1, DAY), route_number("van", 2, DAY)

# The company holds A (started or not) and an unrelated route C on the same day, and A on another day.
C = route_number("truck", 1, DAY)


def existing(a_started: bool) -> list[ExistingRoute]:
    return [
        ExistingRoute(1, A, DAY, a_started),
        ExistingRoute(2, C, DAY, False),
        ExistingRoute(3, route_number("van", 1, OTHER_DAY), OTHER_DAY, False),
    ]


NEW = [(DAY, A), (DAY, B)]


@pytest.mark.parametrize(
    ("mode", "a_started", "deleted", "numbers"),
    [
        (RouteConflictMode.REPLACE_ALL, False, {1, 2}, (A, B)),
        (RouteConflictMode.REPLACE_ALL, True, {1, 2}, (A, B)),
        (RouteConflictMode.REPLACE_NOT_STARTED, False, {1, 2}, (A, B)),
        (RouteConflictMode.REPLACE_NOT_STARTED, True, {2}, (f"{A}-1", B)),
        (RouteConflictMode.RENAME_NEW, False, set(), (f"{A}-1", B)),
        (RouteConflictMode.RENAME_NEW, True, set(), (f"{A}-1", B)),
    ],
)
def test_route_modes_against_started_and_not_started_routes(
    mode: RouteConflictMode, a_started: bool, deleted: set[int], numbers: tuple[str, ...]
) -> None:
    plan = plan_routes(NEW, existing(a_started), mode)
    assert plan.delete == deleted
    assert plan.numbers == numbers


@pytest.mark.parametrize("a_started", [False, True])
def test_no_conflict_fails_naming_the_colliding_route(a_started: bool) -> None:
    with pytest.raises(RouteConflict) as error:
        plan_routes(NEW, existing(a_started), RouteConflictMode.NO_CONFLICT)
    assert error.value.details == {"conflict": "routes", "numbers": [A]}
    assert A in str(error.value)


@pytest.mark.parametrize("mode", list(RouteConflictMode))
def test_without_collision_every_mode_keeps_the_numbers(mode: RouteConflictMode) -> None:
    plan = plan_routes([(DAY, B)], existing(False), mode)
    assert plan.numbers == (B,)


def test_routes_of_other_dates_are_never_touched() -> None:
    plan = plan_routes([(OTHER_DAY, B)], existing(False), RouteConflictMode.REPLACE_ALL)
    assert plan.delete == {3}


def test_a_rename_takes_the_first_free_suffix() -> None:
    held = [
        ExistingRoute(1, A, DAY, True),
        ExistingRoute(2, f"{A}-1", DAY, True),
        ExistingRoute(3, f"{A}-3", DAY, True),
    ]
    plan = plan_routes([(DAY, A)], held, RouteConflictMode.RENAME_NEW)
    assert plan.numbers == (f"{A}-2",)
    assert plan.renamed == {0}


def test_a_rename_never_takes_a_number_of_the_solution_itself() -> None:
    plan = plan_routes(
        [(DAY, A), (DAY, f"{A}-1")], [ExistingRoute(1, A, DAY, False)], RouteConflictMode.RENAME_NEW
    )
    assert plan.numbers == (f"{A}-2", f"{A}-1")


# Orders: the company holds 1 (status varies) and 2 (new); the solution brings 1 and 3.
def held_orders(status: OrderStatus) -> dict[str, ExistingOrder]:
    return {"1": ExistingOrder(11, "1", status)}


@pytest.mark.parametrize("status", [OrderStatus.NEW, OrderStatus.CONFIRMED, OrderStatus.CANCELLED])
def test_move_existing_moves_an_order_not_under_way(status: OrderStatus) -> None:
    plan = plan_orders(["1", "3"], held_orders(status), set(), OrderConflictMode.MOVE_EXISTING)
    assert plan.numbers == ("1", "3")
    assert plan.moves == {0: 11}
    assert plan.created == 1


@pytest.mark.parametrize("status", [OrderStatus.STARTED, OrderStatus.FINISHED])
def test_move_existing_fails_on_an_order_under_way(status: OrderStatus) -> None:
    with pytest.raises(OrdersInProgress) as error:
        plan_orders(["1", "3"], held_orders(status), set(), OrderConflictMode.MOVE_EXISTING)
    assert error.value.details == {"conflict": "orders_in_progress", "numbers": ["1"]}


@pytest.mark.parametrize("status", list(OrderStatus))
def test_rename_new_renames_whatever_the_existing_status(status: OrderStatus) -> None:
    plan = plan_orders(["1", "3"], held_orders(status), {"1-1"}, OrderConflictMode.RENAME_NEW)
    assert plan.numbers == ("1-2", "3")
    assert plan.renamed == {0}
    assert plan.moves == {}
    assert plan.created == 2


@pytest.mark.parametrize("status", list(OrderStatus))
def test_order_no_conflict_fails_naming_the_order(status: OrderStatus) -> None:
    with pytest.raises(OrderConflict) as error:
        plan_orders(["1", "3"], held_orders(status), set(), OrderConflictMode.NO_CONFLICT)
    assert error.value.details == {"conflict": "orders", "numbers": ["1"]}


@pytest.mark.parametrize("mode", list(OrderConflictMode))
def test_without_order_collision_every_mode_creates_all(mode: OrderConflictMode) -> None:
    plan = plan_orders(["3", "4"], {}, set(), mode)
    assert plan.numbers == ("3", "4")
    assert plan.created == 2


def test_an_order_rename_avoids_the_numbers_of_the_solution() -> None:
    plan = plan_orders(["1", "1-1"], held_orders(OrderStatus.NEW), set(), OrderConflictMode.RENAME_NEW)
    assert plan.numbers == ("1-2", "1-1")


@pytest.mark.parametrize(
    ("taken", "expected"), [(set(), "x-1"), ({"x-1"}, "x-2"), ({"x-1", "x-2", "x-4"}, "x-3")]
)
def test_first_free_suffix(taken: set[str], expected: str) -> None:
    assert first_free("x", taken) == expected
