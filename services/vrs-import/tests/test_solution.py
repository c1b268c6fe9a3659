"""A solver's result read into routes and orders (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from vrs_import.domain.solution import InvalidSolution, parse_window, solution_from_result
from vrs_import.solver.models import Result

MSK = timezone(timedelta(hours=3))


def node(kind: str, id_: Any, arrival: float, ref: str | None = None, **value: Any) -> dict[str, Any]:
    body = {"id": id_, "point": {"lat": 55.7, "lon": 37.6}, **value}
    if ref is not None:
        body["ref"] = ref
    return {"node": {"type": kind, "value": body}, "arrival_time_s": arrival}


def result(*routes: dict[str, Any], time_zone: Any = 3, vehicles: Any = ()) -> Result:
    return Result.model_validate(
        {
            "routes": list(routes),
            "vehicles": list(vehicles),
            "options": {"date": "2026-12-02", "time_zone": time_zone},
        }
    )


def route(vehicle_id: Any, *nodes: dict[str, Any], run_number: int = 1) -> dict[str, Any]:
    return {"vehicle_id": vehicle_id, "run_number": run_number, "route": list(nodes)}


def test_routes_and_orders_carry_numbers_sequence_and_arrival_times() -> None:
    solution = solution_from_result(
        result(
            route(
                7,
                node("depot", "d1", 25200, time_window="07:00-20:00"),
                node("location", 1, 27000, ref="A-100", time_window="09:00-12:00", description="Tverskaya 1"),
                node("location", 2, 30600),
                node("depot", "d1", 32400),
            ),
            vehicles=[{"id": 7, "ref": "van-7"}],
        ),
        max_orders=100,
    )
    (planned,) = solution.routes
    assert planned.number == "van-7-1-2026-12-02"
    assert planned.depot is not None and planned.depot.number == "d1"
    assert [o.number for o in planned.orders] == ["A-100", "2"]
    assert planned.orders[0].planned_arrival == datetime(2026, 12, 2, 4, 30, tzinfo=UTC)  # 07:30 MSK
    assert planned.orders[0].time_window == (
        datetime(2026, 12, 2, 9, tzinfo=MSK),
        datetime(2026, 12, 2, 12, tzinfo=MSK),
    )
    assert planned.orders[0].address == "Tverskaya 1"


def test_a_run_starting_on_a_later_day_is_dated_by_that_day() -> None:
    solution = solution_from_result(
        result(route(1, node("location", 1, 86400 + 3600), run_number=2)), max_orders=10
    )
    assert solution.routes[0].date == date(2026, 12, 3)
    assert solution.routes[0].number == "1-2-2026-12-03"


@pytest.mark.parametrize(
    ("routes", "reason"),
    [
        ((), "no routes"),
        ((route(1, node("depot", 0, 0)),), "no routes"),
        ((route(1, node("location", 1, 0)), route(2, node("location", 1, 10))), "twice"),
        ((route(1, node("location", 1, 0)), route(1, node("location", 2, 10))), "twice"),
        ((route(1, node("location", 1, 0, time_window="late")),), "time window"),
        ((route(1, node("location", 1, 0, time_window="12:00-09:00")),), "ends before"),
        ((route(1, node("location", 1, 0, ref="a\x00b")),), "unusable"),
    ],
)
def test_a_result_that_cannot_be_imported_is_rejected_with_its_reason(routes: Any, reason: str) -> None:
    with pytest.raises(InvalidSolution, match=reason):
        solution_from_result(result(*routes), max_orders=10)


def test_a_malformed_location_fails_validation_of_the_whole_answer() -> None:
    with pytest.raises(ValidationError, match="point"):
        result(route(1, {"node": {"type": "location", "value": {"id": 1}}, "arrival_time_s": 0}))


def test_nodes_other_than_depots_and_locations_are_skipped() -> None:
    garage = {"node": {"type": "garage", "value": {"anything": 1}}, "arrival_time_s": 0}
    solution = solution_from_result(result(route(1, garage, node("location", 1, 10))), max_orders=10)
    assert [o.number for o in solution.routes[0].orders] == ["1"]


def test_more_orders_than_the_limit_are_rejected() -> None:
    nodes = [node("location", i, i) for i in range(3)]
    with pytest.raises(InvalidSolution, match="more than 2"):
        solution_from_result(result(route(1, *nodes)), max_orders=2)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("07:00-20:00", datetime(2026, 12, 2, 7, tzinfo=MSK), datetime(2026, 12, 2, 20, tzinfo=MSK)),
        (
            "07:00:30-1.02:00",
            datetime(2026, 12, 2, 7, 0, 30, tzinfo=MSK),
            datetime(2026, 12, 3, 2, tzinfo=MSK),
        ),
        (
            "2026-12-02T07:00:00+00:00/2026-12-02T08:00:00+00:00",
            datetime(2026, 12, 2, 7, tzinfo=UTC),
            datetime(2026, 12, 2, 8, tzinfo=UTC),
        ),
    ],
)
def test_time_windows(text: str, start: datetime, end: datetime) -> None:
    assert parse_window(text, date(2026, 12, 2), MSK) == (start, end)


@pytest.mark.parametrize(
    ("zone", "valid"), [(3, True), ("Europe/Moscow", True), ("Mars/Olympus", False), (99, False)]
)
def test_time_zone_is_hours_or_a_zone_name(zone: Any, valid: bool) -> None:
    payload = result(route(1, node("location", 1, 0)), time_zone=zone)
    if valid:
        solution_from_result(payload, max_orders=10)
    else:
        with pytest.raises(InvalidSolution, match="time zone"):
            solution_from_result(payload, max_orders=10)
