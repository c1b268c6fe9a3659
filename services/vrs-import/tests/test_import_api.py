"""The import api: what POST refuses (400, 401, 403, 422), idempotency, status, result, conflicts
preview, and the import-finished event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest

from quintet_contracts import EVENTS_EXCHANGE
from quintet_contracts.vrs_import import IMPORT_FINISHED, ImportFinished
from quintet_testing import eventually, expect, expect_error
from vrs_import.api.models import Conflicts, ImportResultPage, ImportStatus, ImportSummary

DAY = "2026-12-02"
SMALL = (("van", 1, ["1", "2"]),)


def body(task_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "order_status": "new",
        "route_conflict_mode": "rename_new",
        "order_conflict_mode": "rename_new",
        **fields,
    }


async def imports_count(db: asyncpg.Pool) -> int:
    return int(await db.fetchval("SELECT count(*) FROM imports"))


@pytest.fixture
async def task_id(vrs: Any) -> str:
    return str(await vrs.solved(vrs.result(*SMALL)))


TASK_STATES = {
    "queued": {"stand_in_state": "queued"},
    "failed": {"stand_in_state": "failed"},
}


def small_task(**options: Any) -> dict[str, Any]:
    return {
        "depot": {"id": "d", "point": {"lat": 55.75, "lon": 37.6}, "time_window": "07:00-20:00"},
        "locations": [{"id": 1, "point": {"lat": 55.76, "lon": 37.61}, "time_window": "08:00-18:00"}],
        "vehicles": [{"id": 1}],
        "options": {"date": DAY, "time_zone": 3, **options},
    }


@pytest.mark.parametrize("state", ["unknown", "queued", "failed", "empty", "no-orders"])
async def test_a_task_that_cannot_be_imported_answers_422_and_records_nothing(
    vrs: Any, db: asyncpg.Pool, state: str
) -> None:
    if state == "unknown":
        task_id = "0123abcd-0000-0000-0000-000000000000"
    elif state in TASK_STATES:
        task_id = await vrs.submit(small_task(**TASK_STATES[state]))
    elif state == "empty":
        task_id = await vrs.solved(vrs.result())
    else:
        task_id = await vrs.solved(vrs.result(("van", 1, [])))
    error = await expect_error(await vrs.post_import(task_id), 422, "task_not_importable")
    assert error["details"]["task_id"] == task_id
    assert await imports_count(db) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"task_id": None}, "task_id"),
        ({"task_id": "a/b"}, "task_id"),
        ({"task_id": "a\x00b"}, "task_id"),
        ({"task_id": "x" * 65}, "task_id"),
        ({"original_task_id": "../x"}, "original_task_id"),
        ({"order_status": "started"}, "order_status"),
        ({"route_conflict_mode": "add_all"}, "route_conflict_mode"),
        ({"order_conflict_mode": "rename_existing"}, "order_conflict_mode"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_a_bad_field_answers_400_naming_it(
    client: Any, vrs: Any, change: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/api/v1/companies/1/vrs-import", json={**body("t"), **change}, headers=vrs.token()
    )
    error = await expect_error(response, 400, "validation_error")
    assert field in [d["field"] for d in error["details"]]


@pytest.mark.parametrize("key", ["", "k" * 201, "clé", "a\tb"])
async def test_a_bad_idempotency_key_answers_400(vrs: Any, task_id: str, key: str) -> None:
    error = await expect_error(await vrs.post_import(task_id, headers={"Idempotency-Key": key}), 400)
    assert error["details"][0]["field"] == "Idempotency-Key"


async def test_the_same_idempotency_key_and_body_answer_the_same_import(
    vrs: Any, db: asyncpg.Pool, task_id: str
) -> None:
    first = await expect(await vrs.post_import(task_id, headers={"Idempotency-Key": "k1"}), 202, ImportStatus)
    again = await expect(await vrs.post_import(task_id, headers={"Idempotency-Key": "k1"}), 202, ImportStatus)
    assert again.id == first.id
    assert await imports_count(db) == 1


async def test_the_same_idempotency_key_with_another_body_answers_422(vrs: Any, task_id: str) -> None:
    await expect(await vrs.post_import(task_id, headers={"Idempotency-Key": "k1"}), 202)
    response = await vrs.post_import(task_id, "replace_all", headers={"Idempotency-Key": "k1"})
    await expect_error(response, 422, "idempotency_key_reused")


async def test_without_a_worker_the_import_stays_running_and_has_no_result(vrs: Any, task_id: str) -> None:
    state = await expect(await vrs.post_import(task_id), 202, ImportStatus)
    assert (state.status, state.message) == ("running", "Task is running")
    response = await vrs.client.get(f"/api/v1/companies/1/vrs-import/{state.id}/result", headers=vrs.token())
    await expect_error(response, 404, "import_result_not_found")


@pytest.mark.usefixtures("worker")
async def test_another_companys_import_is_not_found(vrs: Any, task_id: str) -> None:
    state = await expect(await vrs.post_import(task_id), 202, ImportStatus)
    for path in (f"{state.id}", f"{state.id}/result"):
        response = await vrs.client.get(f"/api/v1/companies/2/vrs-import/{path}", headers=vrs.token())
        await expect_error(response, 404, "import_not_found")


@pytest.mark.parametrize("import_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
async def test_an_unknown_import_is_not_found(vrs: Any, import_id: str) -> None:
    response = await vrs.client.get(f"/api/v1/companies/1/vrs-import/{import_id}", headers=vrs.token())
    await expect_error(response, 404, "import_not_found")


@pytest.mark.usefixtures("worker")
async def test_a_completed_import_pages_its_routes_and_counts_its_orders(vrs: Any) -> None:
    routes = [(f"v{i}", 1, [f"{i}-a", f"{i}-b"]) for i in range(3)]
    state = await vrs.run(vrs.result(*routes))
    assert state["status"] == "completed"
    url = f"/api/v1/companies/1/vrs-import/{state['id']}/result"
    page = await expect(
        await vrs.client.get(url, params={"page": 2, "per_page": 2}, headers=vrs.token()),
        200,
        ImportResultPage,
    )
    assert [r.number for r in page.routes] == [f"v2-1-{DAY}"]
    assert page.total_routes == 3
    assert (page.orders.created, page.orders.renamed, page.orders.moved) == (6, 0, 0)


@pytest.mark.usefixtures("worker")
async def test_the_import_history_lists_the_companys_imports_newest_first_with_their_outcome(
    vrs: Any,
) -> None:
    first = await vrs.run(vrs.result(*SMALL))
    second = await vrs.run(vrs.result(*SMALL))  # no_conflict twice: the second one fails
    url = "/api/v1/companies/1/vrs-import"
    history = await expect(await vrs.client.get(url, headers=vrs.token()), 200, list[ImportSummary])
    assert [(i.id, i.status) for i in history] == [(second["id"], "error"), (first["id"], "completed")]
    assert (history[1].orders.created, history[1].route_conflict_mode) == (2, "no_conflict")
    assert history[1].finished_at is not None and history[1].created_by
    paged = await expect(
        await vrs.client.get(url, params={"page": 2, "per_page": 1}, headers=vrs.token()),
        200,
        list[ImportSummary],
    )
    assert [i.id for i in paged] == [first["id"]]
    other = await vrs.client.get("/api/v1/companies/2/vrs-import", headers=vrs.token())
    assert await expect(other, 200, list[ImportSummary]) == []  # company 2 imported nothing
    foreign = await vrs.client.get("/api/v1/companies/2/vrs-import", headers=vrs.token(companies=[1]))
    await expect_error(foreign, 403)


@pytest.mark.usefixtures("worker")
async def test_a_failed_import_has_no_result(vrs: Any) -> None:
    await vrs.run(vrs.result(*SMALL))
    state = await vrs.run(vrs.result(*SMALL))  # no_conflict twice
    assert state["status"] == "error"
    response = await vrs.client.get(
        f"/api/v1/companies/1/vrs-import/{state['id']}/result", headers=vrs.token()
    )
    await expect_error(response, 404, "import_result_not_found")


@pytest.mark.usefixtures("worker")
async def test_the_conflicts_preview_lists_collisions_without_writing(vrs: Any, db: asyncpg.Pool) -> None:
    await vrs.run(vrs.result(("van", 1, ["1", "2"]), ("truck", 1, ["3"])))
    await vrs.set_status("1", "started")
    task_id = await vrs.solved(vrs.result(("van", 1, ["1", "9"]), ("bike", 1, ["3"])))
    before = await imports_count(db)
    response = await vrs.client.get(
        "/api/v1/companies/1/vrs-import/conflicts", params={"task_id": task_id}, headers=vrs.token()
    )
    conflicts = await expect(response, 200, Conflicts)
    assert [(c.number, c.started) for c in conflicts.routes] == [(f"van-1-{DAY}", True)]
    assert [(c.number, c.status) for c in conflicts.orders] == [("1", "started"), ("3", "new")]
    assert await imports_count(db) == before


async def test_the_conflicts_preview_of_a_task_that_cannot_be_imported_answers_422(vrs: Any) -> None:
    response = await vrs.client.get(
        "/api/v1/companies/1/vrs-import/conflicts", params={"task_id": "nope"}, headers=vrs.token()
    )
    await expect_error(response, 422, "task_not_importable")


async def test_an_unreachable_solver_answers_503(vrs: Any, task_id: str, settings: Any) -> None:
    from quintet_testing import api_client, free_port
    from vrs_import import SERVICE

    down = settings.model_copy(update={"solver_url": f"http://127.0.0.1:{free_port()}", "solver_attempts": 2})
    async with api_client(SERVICE.create_app(down)) as client:
        response = await client.post(
            "/api/v1/companies/1/vrs-import", json=body(task_id), headers=vrs.token()
        )
        await expect_error(response, 503, "solver_unavailable")


@pytest.fixture
async def finished_events(amqp_url: str) -> AsyncIterator[list[ImportFinished]]:
    """Every import-finished event published while the test runs, parsed with its contract."""
    received: list[ImportFinished] = []
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key=IMPORT_FINISHED.routing_key)

        async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                received.append(IMPORT_FINISHED.parse(message.body).payload)

        await queue.consume(collect)
        yield received


@pytest.mark.usefixtures("worker")
async def test_every_finished_import_publishes_import_finished(
    vrs: Any, finished_events: list[ImportFinished]
) -> None:
    done = await vrs.run(vrs.result(*SMALL))
    failed = await vrs.run(vrs.result(*SMALL))
    await eventually(lambda: len(finished_events) == 2)
    by_id = {str(e.import_id): e for e in finished_events}
    completed, error = by_id[done["id"]], by_id[failed["id"]]
    assert (completed.status, completed.company_id) == ("completed", 1)
    assert [r.number for r in completed.routes] == [f"van-1-{DAY}"]
    assert (completed.orders.created, completed.orders.moved) == (2, 0)
    assert (error.status, error.routes) == ("error", [])
    assert f"van-1-{DAY}" in error.message
