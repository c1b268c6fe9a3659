"""The admin api: matchings by filter with keyset pages, one matching with its history, jobs on demand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from contractor_mentorship.api.models import JobRun, MatchingDetails, MatchingsPage
from quintet_testing.http import bearer, expect, expect_error

ADMIN = bearer("mentorship:admin", sub="admin")
MATCHINGS = "/internal/admin/matchings"

AddDriver = Callable[..., Awaitable[dict[str, Any]]]


async def test_pages_walk_every_matching_newest_first_exactly_once(
    client: Any, add_driver: AddDriver, accept: Any
) -> None:
    created = [(await accept(await add_driver()))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await expect(await client.get(MATCHINGS, params=params, headers=ADMIN), 200, MatchingsPage)
        seen.extend(str(m.id) for m in page.matchings)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(created))


async def test_filters_by_status_and_by_a_participants_profile(
    client: Any, add_driver: AddDriver, accept: Any
) -> None:
    first, second = await add_driver(), await add_driver()
    await accept(first)
    await accept(second)
    profile = first["profiles"][0]
    params = {"park_id": profile["park_id"], "driver_id": profile["driver_id"]}
    page = await expect(await client.get(MATCHINGS, params=params, headers=ADMIN), 200, MatchingsPage)
    assert [m.newbie_driver_id for m in page.matchings] == [profile["driver_id"]]
    page = await expect(
        await client.get(MATCHINGS, params={"status": "succeed"}, headers=ADMIN), 200, MatchingsPage
    )
    assert page.matchings == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "unknown"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"park_id": "x" * 65}, "park_id"),
        ({"driver_id": "a\x00b"}, "driver_id"),
        ({"other": "1"}, "other"),
    ],
)
async def test_bad_list_parameters_are_400_naming_the_field(
    client: Any, params: dict[str, str], field: str
) -> None:
    body = await expect_error(
        await client.get(MATCHINGS, params=params, headers=ADMIN), 400, "validation_error"
    )
    assert field in str(body["details"])


async def test_one_matching_comes_with_its_transitions(
    client: Any, add_driver: AddDriver, accept: Any
) -> None:
    matching = await accept(await add_driver())
    details = await expect(
        await client.get(f"{MATCHINGS}/{matching['id']}", headers=ADMIN), 200, MatchingDetails
    )
    assert [(t.from_, t.to) for t in details.transitions] == [(None, "created")]
    assert details.results == []


async def test_an_unknown_matching_is_404(client: Any) -> None:
    response = await client.get(f"{MATCHINGS}/00000000-0000-0000-0000-000000000000", headers=ADMIN)
    await expect_error(response, 404, "matching_not_found")


@pytest.mark.parametrize("job", ["import-matchings", "import-progress", "import-finished", "archive"])
async def test_every_job_runs_on_demand_and_says_what_it_did(client: Any, job: str) -> None:
    run = await expect(await client.post(f"/internal/admin/jobs/{job}/run", headers=ADMIN), 200, JobRun)
    assert run.job == job and all(v == 0 for k, v in run.counts.items() if k != "dataset_missing")


async def test_an_unknown_job_is_404(client: Any) -> None:
    await expect_error(await client.post("/internal/admin/jobs/nope/run", headers=ADMIN), 404, "unknown_job")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", MATCHINGS),
        ("GET", f"{MATCHINGS}/00000000-0000-0000-0000-000000000000"),
        ("POST", "/internal/admin/jobs/archive/run"),
    ],
)
async def test_admin_endpoints_need_the_admin_scope(client: Any, method: str, path: str) -> None:
    await expect_error(await client.request(method, path), 401)
    driver = bearer("mentorship:driver", sub="d", park_id="p", driver_id="d")
    await expect_error(await client.request(method, path, headers=driver), 403)
