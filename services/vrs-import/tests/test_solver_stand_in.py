"""The stand-in solver's API (the Yandex MVRP shape it promises to the service)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from quintet_testing import eventually

DAY = "2026-12-02"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


def task(**options: Any) -> dict[str, Any]:
    return {
        "depot": {"id": "d", "point": {"lat": 55.75, "lon": 37.6}, "time_window": "07:00-20:00"},
        "locations": [
            {
                "id": 1,
                "point": {"lat": 55.76, "lon": 37.61},
                "time_window": "09:00-10:00",
                "service_duration_s": 600,
            },
            {"id": 2, "ref": "late", "point": {"lat": 55.74, "lon": 37.59}, "time_window": "15:00-16:00"},
        ],
        "vehicles": [{"id": 1}],
        "options": {"date": DAY, "time_zone": 3, **options},
    }


async def submit(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{url}/vrs/api/v1/add/mvrp", json=body) as response:
        return response.status, dict(await response.json())


async def result(http: aiohttp.ClientSession, url: str, task_id: str) -> tuple[int, dict[str, Any]]:
    async with http.get(f"{url}/vrs/api/v1/result/mvrp/{task_id}") as response:
        return response.status, dict(await response.json())


async def test_a_task_is_queued_then_solved_within_its_time_windows(
    http: aiohttp.ClientSession, stand_ins_url: str
) -> None:
    status, accepted = await submit(http, stand_ins_url, task())
    assert status == 202 and "queued" in accepted["status"]

    async def solved() -> dict[str, Any] | None:
        status, body = await result(http, stand_ins_url, accepted["id"])
        assert status in (200, 202)
        return body if status == 200 else None

    body = await eventually(solved, timeout=30)
    (route,) = body["result"]["routes"]
    kinds = [n["node"]["type"] for n in route["route"]]
    assert kinds == ["depot", "location", "location", "depot"]
    first, second = route["route"][1], route["route"][2]
    served = [n["arrival_time_s"] + n["waiting_duration_s"] for n in (first, second)]
    assert first["node"]["value"]["id"] == 1 and 9 * 3600 <= served[0] <= 10 * 3600
    assert second["node"]["value"]["ref"] == "late" and 15 * 3600 <= served[1] <= 16 * 3600
    assert body["result"]["options"] == {"date": DAY, "time_zone": 3, "solver_time_limit_s": 2}


@pytest.mark.parametrize(("state", "status", "key"), [("queued", 202, "queued"), ("failed", 200, "failed")])
async def test_a_task_can_be_held_queued_or_failed(
    http: aiohttp.ClientSession, stand_ins_url: str, state: str, status: int, key: str
) -> None:
    _, accepted = await submit(http, stand_ins_url, task(stand_in_state=state))
    got, body = await result(http, stand_ins_url, accepted["id"])
    assert got == status and key in body["status"]
    assert ("error" in body) == (state == "failed")


async def test_an_unknown_task_is_404(http: aiohttp.ClientSession, stand_ins_url: str) -> None:
    assert (await result(http, stand_ins_url, "nope"))[0] == 404


@pytest.mark.parametrize("change", [{"locations": []}, {"vehicles": []}, {"depot": {"id": "d"}}])
async def test_a_malformed_task_is_400(
    http: aiohttp.ClientSession, stand_ins_url: str, change: dict[str, Any]
) -> None:
    assert (await submit(http, stand_ins_url, {**task(), **change}))[0] == 400
