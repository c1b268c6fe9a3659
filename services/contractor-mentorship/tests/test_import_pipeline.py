"""import-matchings tells each chunk's drivers while it matches the next chunk: a push that fails
stops the run with nothing half-written, and the next run tells every driver left `matched`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from quintet_testing import bearer

ADMIN = bearer("mentorship:admin", sub="admin")


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, Any]) -> dict[str, Any]:
    """A chunk per row (three chunks in flight one after another), and no retry of a failed push."""
    return {**settings_overrides, "import_batch_size": 1, "upstream_attempts": 1}


async def statuses(db: asyncpg.Pool) -> list[str]:
    return sorted(r["status"] for r in await db.fetch("SELECT status FROM matchings"))


async def test_a_failed_push_stops_the_run_and_the_next_run_tells_every_matched_driver(
    client: Any, db: asyncpg.Pool, add_driver: Any, accept: Any, crm: Any, fault: Any, stand_ins: Any
) -> None:
    mentor = await add_driver(hired_days_ago=800)
    newbies = [await add_driver() for _ in range(3)]
    for newbie in newbies:
        await accept(newbie)
    pairs = [(newbie["profiles"][0], mentor["profiles"][0]) for newbie in newbies]
    await crm.distribute(pairs, datetime.now(UTC) - timedelta(days=1))

    await fault("client-events", status=500, count=1)  # the first chunk's push
    failed = await client.post("/internal/admin/jobs/import-matchings/run", headers=ADMIN)
    assert failed.status == 503, await failed.text()
    after_failure = await statuses(db)
    assert "initialized" not in after_failure  # the failed chunk was not advanced, nor any after it
    assert after_failure.count("matched") >= 1

    again = await client.post("/internal/admin/jobs/import-matchings/run", headers=ADMIN)
    assert again.status == 200, await again.text()
    assert (await again.json())["counts"]["initialized"] == 3
    assert await statuses(db) == ["initialized"] * 3
    for newbie in newbies:  # each told once: the failed push delivered nothing
        response = await stand_ins.get(
            "_stand-in/client-events", params={"driver_id": newbie["profiles"][0]["driver_id"]}
        )
        assert [e["payload"]["status"] for e in (await response.json())["events"]] == ["initialized"]
