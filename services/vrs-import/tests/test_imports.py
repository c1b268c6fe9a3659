"""Imports against arranged company data: both mode tables crossed with started/not-started routes
and orders under way, all or nothing, 422s, idempotency, concurrency."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("worker")

DAY = "2026-12-02"

VAN = f"van-1-{DAY}"
TRUCK = f"truck-1-{DAY}"


async def arrange_van_and_truck(vrs: Any, van_started: bool) -> None:
    """The company holds route van (orders 1, 2) and route truck (order 3); van started or not."""
    state = await vrs.run(vrs.result(("van", 1, ["1", "2"]), ("truck", 1, ["3"])))
    assert state["status"] == "completed", state
    if van_started:
        await vrs.set_status("1", "started")


@pytest.mark.parametrize(
    ("route_mode", "van_started", "numbers_after"),
    [
        ("replace_all", False, [VAN]),
        ("replace_all", True, [VAN]),
        ("replace_not_started", False, [VAN]),
        ("replace_not_started", True, [VAN, f"{VAN}-1"]),
        ("rename_new", False, [TRUCK, VAN, f"{VAN}-1"]),
        ("rename_new", True, [TRUCK, VAN, f"{VAN}-1"]),
    ],
)
async def test_route_modes_against_started_and_not_started_routes(
    vrs: Any, route_mode: str, van_started: bool, numbers_after: list[str]
) -> None:
    await arrange_van_and_truck(vrs, van_started)
    state = await vrs.run(vrs.result(("van", 1, ["4", "5"])), route_mode)
    assert state["status"] == "completed", state
    assert await vrs.route_numbers() == numbers_after
    new_orders = [await vrs.order(n) for n in ("4", "5")]
    (new_route,) = {o["route_id"] for o in new_orders}
    assert [o["number"] for o in (await vrs.route(new_route))["orders"]] == ["4", "5"]


@pytest.mark.parametrize("route_mode", ["replace_all", "replace_not_started"])
async def test_orders_of_a_deleted_route_stay_unassigned(vrs: Any, route_mode: str) -> None:
    await arrange_van_and_truck(vrs, van_started=False)
    await vrs.run(vrs.result(("van", 1, ["4"])), route_mode)
    for number in ("1", "2", "3"):
        order = await vrs.order(number)
        assert (order["route_id"], order["sequence"], order["planned_arrival"]) == (None, None, None)


@pytest.mark.parametrize("van_started", [False, True])
async def test_route_no_conflict_fails_naming_the_route_and_writes_nothing(
    vrs: Any, van_started: bool
) -> None:
    await arrange_van_and_truck(vrs, van_started)
    state = await vrs.run(vrs.result(("van", 1, ["4"]), ("bike", 1, ["5"])))
    assert state["status"] == "error"
    assert VAN in state["message"]
    assert state["details"] == {"conflict": "routes", "numbers": [VAN]}
    assert await vrs.route_numbers() == [TRUCK, VAN]
    response = await vrs.client.get("/api/v1/companies/1/orders", params={"number": "5"}, headers=vrs.token())
    assert await response.json() == []


async def arrange_order_one(vrs: Any, statuses: tuple[str, ...]) -> None:
    """The company holds route van with orders 1 and 2; order 1 went through `statuses`."""
    state = await vrs.run(vrs.result(("van", 1, ["1", "2"])))
    assert state["status"] == "completed", state
    await vrs.set_status("1", *statuses)


UNDER_WAY = {
    "new": (),
    "confirmed": ("confirmed",),
    "started": ("started",),
    "finished": ("started", "finished"),
}


@pytest.mark.parametrize("status", list(UNDER_WAY))
async def test_order_rename_new_creates_a_suffixed_order_whatever_the_existing_status(
    vrs: Any, status: str
) -> None:
    await arrange_order_one(vrs, UNDER_WAY[status])
    state = await vrs.run(vrs.result(("truck", 1, ["1", "9"])), "rename_new", "rename_new")
    assert state["status"] == "completed", state
    renamed, old = await vrs.order("1-1"), await vrs.order("1")
    assert renamed["status"] == "new"
    assert old["status"] == status
    assert renamed["route_id"] != old["route_id"]


@pytest.mark.parametrize("status", ["new", "confirmed"])
async def test_order_move_existing_moves_the_order_and_keeps_its_status(vrs: Any, status: str) -> None:
    await arrange_order_one(vrs, UNDER_WAY[status])
    state = await vrs.run(
        vrs.result(("truck", 1, ["9", "1"])), "rename_new", "move_existing", order_status="confirmed"
    )
    assert state["status"] == "completed", state
    moved, created = await vrs.order("1"), await vrs.order("9")
    truck = await vrs.route(moved["route_id"])
    assert truck["number"] == TRUCK
    assert [o["number"] for o in truck["orders"]] == ["9", "1"]
    assert moved["status"] == status
    assert created["status"] == "confirmed"


@pytest.mark.parametrize("status", ["started", "finished"])
async def test_order_move_existing_fails_on_an_order_under_way_and_writes_nothing(
    vrs: Any, status: str
) -> None:
    await arrange_order_one(vrs, UNDER_WAY[status])
    before = await vrs.order("1")
    state = await vrs.run(vrs.result(("truck", 1, ["9", "1"])), "replace_all", "move_existing")
    assert state["status"] == "error"
    assert state["details"] == {"conflict": "orders_in_progress", "numbers": ["1"]}
    assert await vrs.route_numbers() == [VAN]  # replace_all deleted nothing
    assert await vrs.order("1") == before


@pytest.mark.parametrize("status", list(UNDER_WAY))
async def test_order_no_conflict_fails_naming_the_order(vrs: Any, status: str) -> None:
    await arrange_order_one(vrs, UNDER_WAY[status])
    state = await vrs.run(vrs.result(("truck", 1, ["9", "1"])), "rename_new", "no_conflict")
    assert state["status"] == "error"
    assert state["details"] == {"conflict": "orders", "numbers": ["1"]}
    assert await vrs.route_numbers() == [VAN]
