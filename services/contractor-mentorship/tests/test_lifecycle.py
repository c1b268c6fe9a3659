"""A matching's life through the real worker and the CRM's datasets in S3: accept → requested →
matched → initialized → in_progress → finished → succeed | failed, with the drivers notified.
Backdated `connected_dttm` stands for elapsed days."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import structlog

from contractor_mentorship.api.models import Contacts, MatchingDetails
from quintet_contracts.contractor_mentorship import MATCHING_CHANGED
from quintet_testing import bearer, eventually, expect, outbox_events

ADMIN = bearer("mentorship:admin", sub="admin")
AddDriver = Callable[..., Awaitable[dict[str, Any]]]
RunJob = Callable[[str], Awaitable[dict[str, int]]]

FIGURES_7D = {"rate_avg_7d": "4.87", "avg_dp_7d": "0.75", "sh_7d": "32"}
FIGURES_14D = {
    **FIGURES_7D,
    "rate_avg_14d": "4.93",
    "avg_dp_14d": "0.81",
    "sh_14d": "70",
    "correct_answers": "9",
    "passed_test_flg": "1",
}


def token_of(driver: dict[str, Any], profile: int = 0) -> dict[str, str]:
    key = driver["profiles"][profile]
    return bearer("mentorship:driver", sub="driver", park_id=key["park_id"], driver_id=key["driver_id"])


async def details(client: Any, matching_id: str) -> MatchingDetails:
    return await expect(
        await client.get(f"/internal/admin/matchings/{matching_id}", headers=ADMIN), 200, MatchingDetails
    )


async def status_of(client: Any, matching_id: str) -> str:
    return (await details(client, matching_id)).status


async def client_events(stand_ins: Any, driver: dict[str, Any]) -> list[dict[str, Any]]:
    response = await stand_ins.get(
        "_stand-in/client-events", params={"driver_id": driver["profiles"][0]["driver_id"]}
    )
    return list((await response.json())["events"])


async def requested(client: Any, accept: Any, driver: dict[str, Any], profile: int = 0) -> str:
    matching_id = str((await accept(driver, profile))["id"])

    async def is_requested() -> bool:
        return await status_of(client, matching_id) == "requested"

    await eventually(is_requested, timeout=30)
    return matching_id


async def test_accept_to_succeed_through_the_worker_notifying_both_drivers(
    client: Any, worker: Any, add_driver: AddDriver, accept: Any, crm: Any, run_job: RunJob, stand_ins: Any
) -> None:
    newbie = await add_driver(profiles=2, city="Казань", rented=True, first_name="Пётр", last_name="Новый")
    mentor = await add_driver(hired_days_ago=800, first_name="Анна", last_name="Опытная")
    matching_id = await requested(client, accept, newbie)

    [request] = await crm.requests()
    assert (request["matching_id"], request["park_id"], request["unique_driver_id"]) == (
        matching_id,
        newbie["profiles"][0]["park_id"],
        newbie["unique_driver_id"],
    )
    assert (request["phone"], request["city"], request["rented_car"]) == (newbie["phone"], "Казань", True)
    assert (request["first_name"], request["last_name"]) == ("Пётр", "Новый")

    # The CRM matched them 15 days ago; it reports progress under the newbie's other linked profile.
    await crm.distribute(
        [(newbie["profiles"][1], mentor["profiles"][0])], datetime.now(UTC) - timedelta(days=15)
    )
    assert (await run_job("import-matchings"))["initialized"] == 1
    assert [e["payload"]["status"] for e in await client_events(stand_ins, newbie)] == ["initialized"]
    assert [e["payload"]["status"] for e in await client_events(stand_ins, mentor)] == ["initialized"]

    await crm.results(newbie["profiles"][1], **FIGURES_14D)
    assert (await run_job("import-progress"))["in_progress"] == 1  # one step per run
    assert await status_of(client, matching_id) == "in_progress"
    assert (await run_job("import-progress"))["finished"] == 1
    assert await status_of(client, matching_id) == "finished"

    today = datetime.now(UTC).date().isoformat()
    linked = newbie["profiles"][1]
    await crm.promocodes(today, {f"{linked['park_id']}_{linked['driver_id']}": "MENTOR-777"})
    assert (await run_job("import-finished"))["succeed"] == 1

    final = await details(client, matching_id)
    assert final.status == "succeed" and final.mentor_promocode == "MENTOR-777" and final.completed_at
    assert [(t.from_, t.to) for t in final.transitions] == [
        (None, "created"),
        ("created", "requested"),
        ("requested", "matched"),
        ("matched", "initialized"),
        ("initialized", "in_progress"),
        ("in_progress", "finished"),
        ("finished", "succeed"),
    ]
    assert {r.stage for r in final.results} == {"7d", "14d"}
    assert [e["payload"]["status"] for e in await client_events(stand_ins, mentor)] == [
        "initialized",
        "in_progress",
        "finished",
        "succeed",
    ]
    seen = await expect(
        await client.get("/driver/v1/mentorship/contacts", headers=token_of(mentor)), 200, Contacts
    )
    [contact] = seen.contacts
    assert contact.unread == 4
    assert "4.87" in contact.messages[1].text and "4.93" in contact.messages[2].text
    assert "MENTOR-777" in contact.messages[3].text


async def test_every_status_change_publishes_matching_changed(
    client: Any, add_driver: AddDriver, accept: Any, crm: Any, run_job: RunJob, db: asyncpg.Pool
) -> None:
    newbie, mentor = await add_driver(), await add_driver(hired_days_ago=800)
    matching_id = (await accept(newbie))["id"]
    await crm.distribute(
        [(newbie["profiles"][0], mentor["profiles"][0])], datetime.now(UTC) - timedelta(days=1)
    )
    await run_job("import-matchings")
    events = await outbox_events(db, MATCHING_CHANGED)
    assert [(str(e.matching_id), e.from_, e.to) for e in events] == [
        (matching_id, None, "created"),
        (matching_id, "created", "matched"),
        (matching_id, "matched", "initialized"),
    ]
    assert events[0].mentor is None and events[2].mentor is not None
    assert events[2].mentor.driver_id == mentor["profiles"][0]["driver_id"]


async def test_finished_without_a_promocode_in_the_days_table_fails(
    client: Any, add_driver: AddDriver, accept: Any, crm: Any, run_job: RunJob
) -> None:
    newbie, mentor = await add_driver(), await add_driver(hired_days_ago=800)
    matching_id = (await accept(newbie))["id"]
    await crm.distribute(
        [(newbie["profiles"][0], mentor["profiles"][0])], datetime.now(UTC) - timedelta(days=20)
    )
    await run_job("import-matchings")
    await crm.results(newbie["profiles"][0], **FIGURES_14D)
    await run_job("import-progress")
    await run_job("import-progress")
    assert (await run_job("import-finished"))["dataset_missing"] == 1  # no table yet: nothing fails
    assert await status_of(client, matching_id) == "finished"

    await crm.promocodes(datetime.now(UTC).date().isoformat(), {"someone_else": "X-1"})
    assert (await run_job("import-finished"))["failed"] == 1
    assert await status_of(client, matching_id) == "failed"


async def test_progress_waits_for_the_crms_results(
    client: Any, add_driver: AddDriver, accept: Any, crm: Any, run_job: RunJob
) -> None:
    newbie, mentor = await add_driver(), await add_driver(hired_days_ago=800)
    matching_id = (await accept(newbie))["id"]
    await crm.distribute(
        [(newbie["profiles"][0], mentor["profiles"][0])], datetime.now(UTC) - timedelta(days=8)
    )
    await run_job("import-matchings")
    assert (await run_job("import-progress"))["waiting_for_results"] == 1
    assert await status_of(client, matching_id) == "initialized"


async def test_distribution_rows_are_imported_once_past_the_watermark(
    add_driver: AddDriver, accept: Any, crm: Any, run_job: RunJob
) -> None:
    newbie, mentor = await add_driver(), await add_driver(hired_days_ago=800)
    await accept(newbie)
    await crm.distribute(
        [(newbie["profiles"][0], mentor["profiles"][0])], datetime.now(UTC) - timedelta(days=1)
    )
    assert (await run_job("import-matchings"))["matched"] == 1
    again = await run_job("import-matchings")
    assert (again["rows_read"], again["rows_new"], again["matched"]) == (1, 0, 0)


UPSTREAM_FAULTS = [
    pytest.param("driver-profiles", {"status": 500}, id="driver-profiles-500"),
    pytest.param("personal", {"status": 503}, id="personal-503"),
    pytest.param("trackstory", {"status": 500}, id="trackstory-500"),
    pytest.param("geobase", {"status": 502}, id="geobase-502"),
    pytest.param("fleet-rent", {"status": 500}, id="fleet-rent-500"),
    pytest.param("personal", {"status": 400}, id="personal-400"),
    pytest.param("trackstory", {"delay_ms": 1500}, id="trackstory-timeout"),
]


@pytest.mark.parametrize(("upstream", "fault_spec"), UPSTREAM_FAULTS)
async def test_an_upstream_failing_parks_the_request_and_the_matching_stays_created(
    client: Any,
    start_worker: Any,
    add_driver: AddDriver,
    accept: Any,
    fault: Any,
    crm: Any,
    db: asyncpg.Pool,
    upstream: str,
    fault_spec: dict[str, Any],
) -> None:
    newbie = await add_driver()
    matching_id = (await accept(newbie))["id"]
    await fault(upstream, **fault_spec)
    await start_worker()

    async def given_up() -> MatchingDetails:
        found = await details(client, matching_id)
        assert found.request_failure is not None
        return found

    found = await eventually(given_up, timeout=60)
    assert found.status == "created"
    assert upstream in (found.request_failure or "")
    assert newbie["phone"] not in (found.request_failure or "")
    assert await db.fetchval("SELECT count(*) FROM parked_messages WHERE task_id = $1", matching_id) == 1
    assert await crm.requests() == []


@pytest.mark.parametrize("failures", [1, 3])
async def test_a_transient_fault_is_retried_and_the_request_filed_once(
    client: Any, start_worker: Any, add_driver: AddDriver, accept: Any, fault: Any, crm: Any, failures: int
) -> None:
    newbie = await add_driver()
    matching_id = (await accept(newbie))["id"]
    await fault("personal", status=500, count=failures)
    await start_worker()

    async def is_requested() -> bool:
        return await status_of(client, matching_id) == "requested"

    await eventually(is_requested, timeout=30)
    assert [r["matching_id"] for r in await crm.requests()] == [matching_id]


async def test_the_phone_is_in_no_table_and_no_log_line(
    client: Any,
    worker: Any,
    add_driver: AddDriver,
    accept: Any,
    crm: Any,
    run_job: RunJob,
    db: asyncpg.Pool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    newbie = await add_driver(phone="+7 (901) 555-12-34")
    mentor = await add_driver(hired_days_ago=800, phone="+79017778899")
    with structlog.testing.capture_logs() as logged:
        matching_id = await requested(client, accept, newbie)
        await crm.distribute(
            [(newbie["profiles"][0], mentor["profiles"][0])], datetime.now(UTC) - timedelta(days=1)
        )
        await run_job("import-matchings")
        for driver in (newbie, mentor):
            response = await client.get("/driver/v1/mentorship/contacts", headers=token_of(driver))
            assert (await expect(response, 200, Contacts)).contacts[0].phone is not None
        await client.post(f"/driver/v1/mentorship/contacts/{matching_id}/read", headers=token_of(newbie))

    tables = await db.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'contractor_mentorship'"
    )
    dumped = []
    for table in tables:
        rows = await db.fetch(f'SELECT t::text AS row FROM "{table["table_name"]}" t')
        dumped.extend(row["row"] for row in rows)
    for table in ("outbox", "parked_messages"):  # message bodies are bytes: read them as text
        rows = await db.fetch(f"SELECT convert_from(body, 'UTF8') AS row FROM {table}")
        dumped.extend(row["row"] for row in rows)
    logs = repr(logged) + caplog.text
    for phone in ("+7 (901) 555-12-34", "79015551234", "+79017778899", "79017778899"):
        assert not [row for row in dumped if phone in row], phone
        assert phone not in logs, phone
    assert "matching_id" in repr(logged) or caplog.text  # something was logged at all
