"""All or nothing, serialization per company, and an import of what the stand-in solver really solved."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from quintet_testing import eventually

pytestmark = pytest.mark.usefixtures("worker")

DAY = "2026-12-02"
VAN, TRUCK = f"van-1-{DAY}", f"truck-1-{DAY}"


async def test_a_failure_mid_import_leaves_nothing_behind(vrs: Any, db: asyncpg.Pool) -> None:
    await vrs.run(vrs.result(("van", 1, ["1", "2"]), ("truck", 1, ["3"])))
    before = [await vrs.order(n) for n in ("1", "2", "3")]
    # The database refuses order "boom": by then the import has deleted both routes (replace_all)
    # and moved order 1 onto its new route.
    await db.execute(
        """
        CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.number = 'boom' THEN RAISE EXCEPTION 'refused by the test'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_boom BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION refuse_boom();
        """
    )
    state = await vrs.run(vrs.result(("bike", 1, ["1", "boom"])), "replace_all", "move_existing")
    assert state["status"] == "internal_error"
    assert "refused" not in state["message"]  # exception text is for the logs only
    assert await vrs.route_numbers() == [TRUCK, VAN]
    assert [await vrs.order(n) for n in ("1", "2", "3")] == before
    assert await db.fetchval("SELECT count(*) FROM depots") == 1


async def test_concurrent_imports_into_one_company_serialize_without_losing_routes(
    vrs: Any, worker: Any
) -> None:
    assert worker.options.concurrency > 1
    results = [vrs.result(("van", 1, ["a", "b"])) for _ in range(6)]
    task_ids = [await vrs.solved(result) for result in results]
    responses = await asyncio.gather(*(vrs.post_import(t, "rename_new", "rename_new") for t in task_ids))
    ids = [(await response.json())["id"] for response in responses]
    states = await asyncio.gather(*(vrs.finished(i) for i in ids))
    assert [s["status"] for s in states] == ["completed"] * 6
    assert await vrs.route_numbers() == sorted([VAN, *(f"{VAN}-{n}" for n in range(1, 6))])
    numbers = {(await vrs.order(n))["number"] for n in ["a", *(f"a-{i}" for i in range(1, 6))]}
    assert len(numbers) == 6


async def test_concurrent_replacing_imports_leave_exactly_one_plan(vrs: Any) -> None:
    task_ids = [
        await vrs.solved(vrs.result(("van", 1, ["a", "b"]), ("truck", 1, [f"c{i}"]))) for i in range(4)
    ]
    responses = await asyncio.gather(*(vrs.post_import(t, "replace_all", "move_existing") for t in task_ids))
    ids = [(await response.json())["id"] for response in responses]
    states = await asyncio.gather(*(vrs.finished(i) for i in ids))
    assert [s["status"] for s in states] == ["completed"] * 4
    assert await vrs.route_numbers() == [TRUCK, VAN]
    van = await vrs.route(next(r["id"] for r in await vrs.routes() if r["number"] == VAN))
    assert [o["number"] for o in van["orders"]] == ["a", "b"]


def solve_task() -> dict[str, Any]:
    locations = [
        {
            "id": i,
            "ref": f"order-{i}",
            "point": {"lat": 55.70 + i * 0.01, "lon": 37.55 + (i % 3) * 0.02},
            "time_window": "08:00-18:00",
            "service_duration_s": 300,
        }
        for i in range(1, 9)
    ]
    return {
        "depot": {"id": "depot-1", "point": {"lat": 55.75, "lon": 37.6}, "time_window": "07:00-20:00"},
        "locations": locations,
        "vehicles": [{"id": 1, "ref": "van"}, {"id": 2, "ref": "truck"}],
        "options": {"date": DAY, "time_zone": 3, "solver_time_limit_s": 1},
    }


async def test_the_stand_in_solves_a_task_and_its_import_follows_the_solution(vrs: Any) -> None:
    task_id = await vrs.submit(solve_task())

    async def solved() -> dict[str, Any] | None:
        async with vrs.client.session.get(
            f"{vrs.stand_ins_url}/vrs/api/v1/result/mvrp/{task_id}"
        ) as response:
            return dict(await response.json()) if response.status == 200 else None

    answer = await eventually(solved, timeout=30)
    solver_routes = answer["result"]["routes"]
    assert sum(n["node"]["type"] == "location" for r in solver_routes for n in r["route"]) == 8
    response = await vrs.post_import(task_id, "rename_new", "no_conflict")
    assert response.status == 202, await response.text()
    assert (await vrs.finished((await response.json())["id"]))["status"] == "completed"
    midnight = datetime(2026, 12, 2, tzinfo=timezone(timedelta(hours=3)))
    refs = {1: "van", 2: "truck"}
    for solver_route in solver_routes:
        number = f"{refs[solver_route['vehicle_id']]}-1-{DAY}"
        route_id = next(r["id"] for r in await vrs.routes() if r["number"] == number)
        imported = await vrs.route(route_id)
        expected = [
            (n["node"]["value"]["ref"], midnight + timedelta(seconds=n["arrival_time_s"]))
            for n in solver_route["route"]
            if n["node"]["type"] == "location"
        ]
        got = [(o["number"], datetime.fromisoformat(o["planned_arrival"])) for o in imported["orders"]]
        assert got == expected
        assert [o["sequence"] for o in imported["orders"]] == list(range(1, len(expected) + 1))
