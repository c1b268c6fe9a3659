"""Fixtures: a fresh migrated database per test, the api over real HTTP, the real worker in-process,
and the stand-ins app (the routing solver) served in-process on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from quintet_stand_ins.app import create_app as create_stand_ins
from quintet_testing import bearer, eventually, service_fixtures
from vrs_import import SERVICE

globals().update(service_fixtures(SERVICE, max_attempts=1, solver_timeout_s=5, pg_pool_max=8))


@pytest.fixture
async def stand_ins_url() -> AsyncIterator[str]:
    """The stand-ins app (the routing solver among them) served in this event loop on a free port."""
    server = TestServer(create_stand_ins())
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
def settings_overrides(stand_ins_url: str) -> dict[str, object]:
    return {"solver_url": stand_ins_url}


DAY = "2026-12-02"
COMPANY = 1


def token(scope: str = "vrs:read vrs:write vrs:import", companies: list[int] | None = None) -> dict[str, str]:
    return bearer(scope, sub="logistician", companies=companies if companies is not None else [COMPANY, 2])


def solver_result(
    *routes: tuple[str, int, list[str]], day: str = DAY, time_zone: float = 3
) -> dict[str, Any]:
    """A solver result: each route is (vehicle ref, run number, order numbers); orders are visited
    every 10 minutes from 08:00, from depot "main"."""
    depot = {"id": "main", "point": {"lat": 55.75, "lon": 37.6}, "time_window": "07:00-20:00"}
    solved = []
    for index, (_, run_number, numbers) in enumerate(routes):
        nodes: list[dict[str, Any]] = [
            {"node": {"type": "depot", "value": depot}, "arrival_time_s": 7 * 3600}
        ]
        for position, number in enumerate(numbers):
            location = {
                "id": 1000 + position,
                "ref": number,
                "point": {"lat": 55.7 + position / 1000, "lon": 37.5},
                "time_window": "08:00-18:00",
                "description": f"street {number}",
            }
            nodes.append(
                {"node": {"type": "location", "value": location}, "arrival_time_s": 8 * 3600 + 600 * position}
            )
        solved.append({"vehicle_id": index + 1, "run_number": run_number, "route": nodes})
    vehicles = [{"id": index + 1, "ref": vehicle} for index, (vehicle, _, _) in enumerate(routes)]
    return {
        "solver_status": "SOLVED",
        "routes": solved,
        "vehicles": vehicles,
        "options": {"date": day, "time_zone": time_zone},
    }


class Vrs:
    """The api and the stand-in solver, as a logistician uses them."""

    day = DAY
    result = staticmethod(solver_result)
    token = staticmethod(token)

    def __init__(self, client: Any, stand_ins_url: str) -> None:
        self.client = client
        self.stand_ins_url = stand_ins_url

    async def solved(self, result: dict[str, Any]) -> str:
        async with self.client.session.post(
            f"{self.stand_ins_url}/_stand-in/solver/solved", json={"result": result}
        ) as r:
            assert r.status == 201, await r.text()
            return str((await r.json())["id"])

    async def submit(self, task: dict[str, Any]) -> str:
        async with self.client.session.post(f"{self.stand_ins_url}/vrs/api/v1/add/mvrp", json=task) as r:
            assert r.status == 202, await r.text()
            return str((await r.json())["id"])

    async def post_import(
        self,
        task_id: str,
        route_mode: str = "no_conflict",
        order_mode: str = "no_conflict",
        *,
        company: int = COMPANY,
        order_status: str = "new",
        headers: dict[str, str] | None = None,
    ) -> Any:
        body = {
            "task_id": task_id,
            "order_status": order_status,
            "route_conflict_mode": route_mode,
            "order_conflict_mode": order_mode,
        }
        return await self.client.post(
            f"/api/v1/companies/{company}/vrs-import", json=body, headers={**token(), **(headers or {})}
        )

    async def status(self, import_id: str, company: int = COMPANY) -> dict[str, Any]:
        response = await self.client.get(
            f"/api/v1/companies/{company}/vrs-import/{import_id}", headers=token()
        )
        assert response.status == 200, await response.text()
        return dict(await response.json())

    async def finished(self, import_id: str, company: int = COMPANY) -> dict[str, Any]:
        async def done() -> dict[str, Any] | None:
            state = await self.status(import_id, company)
            return state if state["status"] != "running" else None

        return dict(await eventually(done, timeout=30))

    async def run(
        self,
        result: dict[str, Any],
        route_mode: str = "no_conflict",
        order_mode: str = "no_conflict",
        **kw: Any,
    ) -> dict[str, Any]:
        """Import a solved result and wait for the import to finish."""
        response = await self.post_import(await self.solved(result), route_mode, order_mode, **kw)
        assert response.status == 202, await response.text()
        return await self.finished((await response.json())["id"], kw.get("company", COMPANY))

    async def routes(self, day: str = DAY, company: int = COMPANY) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/api/v1/companies/{company}/routes", params={"date": day}, headers=token()
        )
        assert response.status == 200, await response.text()
        return list(await response.json())

    async def route_numbers(self, day: str = DAY) -> list[str]:
        return sorted(route["number"] for route in await self.routes(day))

    async def route(self, route_id: int, company: int = COMPANY) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/companies/{company}/routes/{route_id}", headers=token())
        assert response.status == 200, await response.text()
        return dict(await response.json())

    async def order(self, number: str, company: int = COMPANY) -> dict[str, Any]:
        response = await self.client.get(
            f"/api/v1/companies/{company}/orders", params={"number": number}, headers=token()
        )
        assert response.status == 200, await response.text()
        (found,) = await response.json()
        return dict(found)

    async def set_status(self, number: str, *statuses: str) -> None:
        order = await self.order(number)
        for status in statuses:
            response = await self.client.patch(
                f"/api/v1/companies/{COMPANY}/orders/{order['id']}", json={"status": status}, headers=token()
            )
            assert response.status == 200, await response.text()


@pytest.fixture
def vrs(client: Any, stand_ins_url: str) -> Vrs:
    return Vrs(client, stand_ins_url)
