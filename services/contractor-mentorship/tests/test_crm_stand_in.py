"""The CRM stand-in (what `make run` uses in place of the CRM) answers our requests: a newbie is
matched with a mentor of their city, and import-matchings takes the match."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from contractor_mentorship.settings import Settings
from quintet_stand_ins.app import create_app as create_stand_ins
from quintet_testing import bearer, eventually

AddDriver = Callable[..., Awaitable[dict[str, Any]]]


async def test_the_crm_stand_in_matches_a_requested_newbie_with_a_mentor_of_their_city(
    client: Any,
    worker: Any,
    add_driver: AddDriver,
    accept: Any,
    run_job: Callable[[str], Awaitable[dict[str, int]]],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    mentor = await add_driver(hired_days_ago=800, city="Казань")
    newbie, stranger = await add_driver(city="Казань"), await add_driver(city="Тверь")
    fixture = tmp_path / "crm.json"
    fixture.write_text(json.dumps({"mentors": [{**mentor["profiles"][0], "city": "Казань"}]}))
    for name, value in {
        "QUINTET_S3_ENDPOINT": settings.s3_endpoint,
        "QUINTET_S3_ACCESS_KEY": settings.s3_access_key,
        "QUINTET_S3_SECRET_KEY": settings.s3_secret_key,
        "CONTRACTOR_MENTORSHIP_NEW_DRIVERS_URL": settings.new_drivers_url,
        "CONTRACTOR_MENTORSHIP_DISTRIBUTION_URL": settings.distribution_url,
        "QUINTET_STAND_INS_CRM_FIXTURE": str(fixture),
        "QUINTET_STAND_INS_CRM_INTERVAL_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    server = TestServer(create_stand_ins())
    await server.start_server()
    try:
        ids = [str((await accept(d))["id"]) for d in (newbie, stranger)]

        async def both_requested() -> bool:
            for matching_id in ids:
                response = await client.get(
                    f"/internal/admin/matchings/{matching_id}", headers=bearer("mentorship:admin")
                )
                if (await response.json())["status"] != "requested":
                    return False
            return True

        await eventually(both_requested, timeout=30)
        async with ClientSession() as http:
            response = await http.post(str(server.make_url("/_stand-in/crm/match")))
            assert await response.json() == {"requests": 2, "matched": 1, "waiting_for_a_mentor": 1}
            again = await http.post(str(server.make_url("/_stand-in/crm/match")))
            assert (await again.json())["matched"] == 0
    finally:
        await server.close()
    counts = await run_job("import-matchings")
    assert (counts["matched"], counts["initialized"]) == (1, 1)
