"""A logistician's journey: a task solved by the solver (the stand-in), imported through the gateway,
its routes read back."""

import aiohttp

from quintet_testing import eventually
from quintet_testing.http import bearer

COMPANY = 7
LOGISTICIAN = bearer("vrs:read vrs:write vrs:import", sub="logistician", companies=[COMPANY])
DAY = "2026-12-02"


def task() -> dict:
    locations = [
        {
            "id": i,
            "ref": f"order-{i}",
            "point": {"lat": 55.70 + i * 0.01, "lon": 37.55 + (i % 2) * 0.03},
            "time_window": "09:00-18:00",
            "service_duration_s": 300,
        }
        for i in range(1, 7)
    ]
    return {
        "depot": {"id": "depot", "point": {"lat": 55.75, "lon": 37.6}, "time_window": "08:00-20:00"},
        "locations": locations,
        "vehicles": [{"id": 1, "ref": "van"}, {"id": 2, "ref": "truck"}],
        "options": {"date": DAY, "time_zone": 3, "solver_time_limit_s": 1},
    }


async def test_solve_import_and_read_routes_through_the_gateway(stack):
    base = f"{stack.gateway}/vrs-import/api/v1/companies/{COMPANY}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{stack.stand_ins}/vrs/api/v1/add/mvrp", json=task()) as response:
            assert response.status == 202, await response.text()
            task_id = (await response.json())["id"]

        async def solved():
            async with http.get(f"{stack.stand_ins}/vrs/api/v1/result/mvrp/{task_id}") as response:
                assert response.status in (200, 202), await response.text()
                return response.status == 200

        await eventually(solved, timeout=60)

        async with http.get(
            f"{base}/vrs-import/conflicts", params={"task_id": task_id}, headers=LOGISTICIAN
        ) as r:
            assert r.status == 200, await r.text()
            assert await r.json() == {"routes": [], "orders": []}

        body = {
            "task_id": task_id,
            "order_status": "confirmed",
            "route_conflict_mode": "replace_all",
            "order_conflict_mode": "move_existing",
        }
        async with http.post(f"{base}/vrs-import", json=body, headers=LOGISTICIAN) as response:
            assert response.status == 202, await response.text()
            import_id = (await response.json())["id"]

        async def finished():
            async with http.get(f"{base}/vrs-import/{import_id}", headers=LOGISTICIAN) as response:
                assert response.status == 200, await response.text()
                state = await response.json()
                return state if state["status"] != "running" else None

        state = await eventually(finished, timeout=60)
        assert state["status"] == "completed", state

        async with http.get(f"{base}/vrs-import/{import_id}/result", headers=LOGISTICIAN) as response:
            result = await response.json()
        assert result["orders"] == {"created": 6, "renamed": 0, "moved": 0}

        async with http.get(f"{base}/routes", params={"date": DAY}, headers=LOGISTICIAN) as response:
            routes = await response.json()
        assert sorted(r["id"] for r in routes) == sorted(r["id"] for r in result["routes"])
        assert sum(r["orders"] for r in routes) == 6
        for summary in routes:
            async with http.get(f"{base}/routes/{summary['id']}", headers=LOGISTICIAN) as response:
                route = await response.json()
            assert [o["sequence"] for o in route["orders"]] == list(range(1, summary["orders"] + 1))
            assert all(o["status"] == "confirmed" for o in route["orders"])
            arrivals = [o["planned_arrival"] for o in route["orders"]]
            assert arrivals == sorted(arrivals)

        other = bearer("vrs:read", companies=[COMPANY + 1])
        async with http.get(f"{base}/routes", params={"date": DAY}, headers=other) as response:
            assert response.status == 403
