"""Generations: idempotent requests, the scheduler's limit, rendering by the worker, history, check."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from typing import Any

import asyncpg
import pymupdf
import pytest

from posm.api.models import CheckResult, GenerationCreated, GenerationDetail, GenerationHistory
from posm.settings import Settings
from quintet_contracts.posm import GENERATION_STATUS_CHANGED
from quintet_s3 import s3_client
from quintet_testing import eventually, expect, expect_error, outbox_events, published_events

from .conftest import READ, WAIT, WRITE
from .test_rendering import URL, decode_qr, page_text


async def generated(
    request_generation: Any, generation_status: Any, place_id: uuid.UUID, template_id: int
) -> GenerationCreated:
    """A generation requested and rendered by the worker, once it is `done`."""
    created = await expect(await request_generation(place_id, template_id), 201, GenerationCreated)

    async def done() -> bool:
        return (await generation_status(place_id, created.id))["status"] == "done"

    await eventually(done, timeout=WAIT)
    return created


async def test_a_generation_is_created_with_the_next_version(
    put_place: Any, create_template: Any, request_generation: Any, db: asyncpg.Pool
) -> None:
    place_id, _ = await put_place()
    template = await create_template()
    first = await expect(await request_generation(place_id, template["id"]), 201, GenerationCreated)
    second = await expect(await request_generation(place_id, template["id"]), 201, GenerationCreated)
    assert (first.version, second.version, first.status) == (1, 2, "created")
    author = await db.fetchval("SELECT author FROM generations WHERE generation_id = $1", first.id)
    assert author == "designer"
    payloads = await outbox_events(db, GENERATION_STATUS_CHANGED)
    assert [(p.generation_id, p.status) for p in payloads] == [(first.id, "created"), (second.id, "created")]


async def test_the_same_key_and_body_is_the_same_generation(
    put_place: Any, create_template: Any, request_generation: Any
) -> None:
    place_id, _ = await put_place()
    template = await create_template()
    first = await expect(
        await request_generation(place_id, template["id"], key="k-1"), 201, GenerationCreated
    )
    again = await expect(
        await request_generation(place_id, template["id"], key="k-1"), 200, GenerationCreated
    )
    assert again == first


async def test_the_same_key_with_another_body_is_422(
    put_place: Any, create_template: Any, request_generation: Any
) -> None:
    place_id, _ = await put_place()
    template = await create_template()
    await expect(await request_generation(place_id, template["id"], key="k-1"), 201)
    response = await request_generation(place_id, template["id"], key="k-1", settings={"qr": {"size": 100}})
    await expect_error(response, 422, "idempotency_key_reused")


async def test_concurrent_posts_with_one_key_make_one_generation(
    put_place: Any, create_template: Any, request_generation: Any, db: asyncpg.Pool
) -> None:
    place_id, _ = await put_place()
    template = await create_template()
    responses = await asyncio.gather(
        *(request_generation(place_id, template["id"], key="same") for _ in range(8))
    )
    assert sorted(r.status for r in responses) == [200] * 7 + [201]
    assert len({(await r.json())["id"] for r in responses}) == 1
    assert await db.fetchval("SELECT count(*) FROM generations") == 1
    assert await db.fetchval("SELECT last_version FROM generation_versions") == 1


async def test_a_template_the_place_may_not_use_is_422(
    put_place: Any, create_template: Any, request_generation: Any, client: Any
) -> None:
    place_id, _ = await put_place()
    other, _ = await put_place()
    foreign = await create_template(visibility="restaurant", place_ids=[str(other)])
    await expect_error(await request_generation(place_id, foreign["id"]), 422, "template_not_allowed")
    deleted = await create_template()
    await client.delete(f"/api/v1/templates/{deleted['id']}", headers=WRITE)
    await expect_error(await request_generation(place_id, deleted["id"]), 422, "template_not_allowed")


async def test_a_place_without_tables_is_422(
    put_place: Any, create_template: Any, request_generation: Any, db: asyncpg.Pool
) -> None:
    place_id, _ = await put_place(tables=[])
    template = await create_template()
    await expect_error(await request_generation(place_id, template["id"]), 422, "nothing_to_generate")
    assert await db.fetchval("SELECT count(*) FROM generation_versions") == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"settings": {"qr": {"size": 1000}}}, 400, "settings.qr"),
        ({"settings": {"qr": {"size": "big"}}}, 400, "settings.qr.size"),
        ({"settings": {"text": {"format": "{nope}"}}}, 400, "settings.text.format"),
        ({"table_ids": [str(uuid.uuid4())]}, 422, None),
        ({"table_ids": []}, 400, "table_ids"),
    ],
)
async def test_bad_generation_requests_are_refused(
    put_place: Any,
    create_template: Any,
    request_generation: Any,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    place_id, _ = await put_place()
    template = await create_template()
    error = await expect_error(await request_generation(place_id, template["id"], **body), status)
    if field is not None:
        assert error["details"][0]["field"] == field


@pytest.mark.parametrize("key", [None, "", "x" * 201, "with space", "ключ"])
async def test_the_idempotency_key_is_required_and_bounded(
    put_place: Any, create_template: Any, client: Any, key: str | None
) -> None:
    place_id, _ = await put_place()
    template = await create_template()
    headers = {**WRITE, **({"Idempotency-Key": key} if key is not None else {})}
    if key is not None and not key.isascii():
        headers["Idempotency-Key"] = key.encode().decode("latin-1")
    response = await client.post(
        f"/api/v1/places/{place_id}/generations", json={"template_id": template["id"]}, headers=headers
    )
    error = await expect_error(response, 400)
    assert error["details"][0]["field"] == "Idempotency-Key"


async def test_the_worker_renders_every_table_and_the_generation_is_done(
    worker: None,
    put_place: Any,
    create_template: Any,
    request_generation: Any,
    generation_status: Any,
    client: Any,
    db: asyncpg.Pool,
) -> None:
    place_id, tables = await put_place(count=16)  # three slices of 7
    template = await create_template()
    created = await generated(request_generation, generation_status, place_id, template["id"])
    detail = await expect(
        await client.get(f"/api/v1/places/{place_id}/generations/{created.id}", headers=READ),
        200,
        GenerationDetail,
    )
    assert {(t.id, t.label, t.rendered) for t in detail.tables} == {(t, label, True) for t, label in tables}
    table_id, label = tables[3]
    response = await client.get(
        f"/api/v1/places/{place_id}/generations/{created.id}/tables/{table_id}.pdf", headers=READ
    )
    assert response.status == 200 and response.content_type == "application/pdf"
    pdf = await response.read()
    assert decode_qr(pdf) == [URL.format(table_id=table_id)]
    assert f"Стол {label}" in page_text(pdf)


@pytest.mark.parametrize(
    ("template_kept", "statuses"),
    [
        (True, ["created", "scheduled", "in-progress", "done"]),
        (False, ["created", "scheduled", "in-progress", "error"]),
    ],
)
async def test_every_status_change_is_published_once_in_order(
    template_kept: bool,
    statuses: list[str],
    worker: None,
    put_place: Any,
    create_template: Any,
    request_generation: Any,
    settings: Settings,
    db: asyncpg.Pool,
) -> None:
    place_id, _ = await put_place(count=16)  # three slices: `in-progress` is still published once
    template = await create_template()
    if not template_kept:  # every attempt fails: the generation ends in `error`
        link = await db.fetchval("SELECT template_link FROM templates WHERE template_id = $1", template["id"])
        async with s3_client(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key) as s3:
            await s3.delete_object(Bucket=settings.bucket, Key=link)
    async with published_events(settings.amqp_url, GENERATION_STATUS_CHANGED) as events:
        created = await expect(await request_generation(place_id, template["id"]), 201, GenerationCreated)

        def of_this() -> list[Any]:
            return [e for e in events if e.generation_id == created.id]

        async def ended() -> bool:
            return any(e.status in ("done", "error") for e in of_this())

        await eventually(ended, timeout=WAIT)
        # The last status is the last event the relay publishes; nothing more may follow it.
        await eventually(lambda: _outbox_empty(db), timeout=WAIT)
    assert [e.status for e in of_this()] == statuses
    assert {(e.place_id, e.template_id, e.version) for e in of_this()} == {(place_id, template["id"], 1)}
    assert (of_this()[-1].comment is None) == template_kept


async def _outbox_empty(db: asyncpg.Pool) -> bool:
    return bool(await db.fetchval("SELECT count(*) = 0 FROM outbox"))


async def test_the_archive_of_a_done_generation_has_one_valid_pdf_per_table(
    worker: None,
    put_place: Any,
    create_template: Any,
    request_generation: Any,
    generation_status: Any,
    client: Any,
) -> None:
    tables = [(uuid.uuid4(), label) for label in ["1", "2", "2", "VIP/1", "Терраса 5"]]
    place_id, _ = await put_place(tables=tables)
    template = await create_template()
    created = await generated(request_generation, generation_status, place_id, template["id"])
    response = await client.get(f"/api/v1/places/{place_id}/generations/{created.id}/archive", headers=READ)
    assert response.status == 200 and response.content_type == "application/zip"
    assert f"v{created.version}.zip" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        assert archive.testzip() is None
        names = sorted(archive.namelist())
        assert names == sorted(["1.pdf", "2.pdf", "2 (2).pdf", "VIP_1.pdf", "Терраса 5.pdf"])
        texts = set()
        for name in names:
            with pymupdf.open(stream=archive.read(name), filetype="pdf") as document:
                texts.add(document[0].get_text().splitlines()[-1])
    assert texts == {f"Стол {label}" for _, label in tables}


async def test_the_archive_is_409_until_the_generation_is_done(
    put_place: Any, create_template: Any, request_generation: Any, client: Any
) -> None:
    place_id, _ = await put_place()
    template = await create_template()
    created = await expect(await request_generation(place_id, template["id"]), 201, GenerationCreated)
    response = await client.get(f"/api/v1/places/{place_id}/generations/{created.id}/archive", headers=READ)
    await expect_error(response, 409, "generation_not_ready")


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return getattr(request, "param", {})


@pytest.mark.parametrize("settings_overrides", [{"max_concurrent_generations": 2}], indirect=True)
async def test_a_burst_of_generations_runs_at_most_the_limit_at_once(
    worker: None, put_place: Any, create_template: Any, request_generation: Any, db: asyncpg.Pool
) -> None:
    place_id, _ = await put_place(count=10)
    template = await create_template()
    for _ in range(6):
        await expect(await request_generation(place_id, template["id"]), 201)
    peak = 0

    async def all_done() -> bool:
        nonlocal peak
        counts = dict(await db.fetch("SELECT status, count(*) FROM generations GROUP BY status"))
        peak = max(peak, counts.get("scheduled", 0) + counts.get("in-progress", 0))
        return counts.get("done") == 6

    await eventually(all_done, timeout=WAIT)
    assert 1 <= peak <= 2


async def test_a_failing_render_is_retried_then_set_to_error_with_the_reason(
    worker: None,
    put_place: Any,
    create_template: Any,
    request_generation: Any,
    generation_status: Any,
    settings: Settings,
    db: asyncpg.Pool,
) -> None:
    place_id, _ = await put_place()
    template = await create_template()
    link = await db.fetchval("SELECT template_link FROM templates WHERE template_id = $1", template["id"])
    async with s3_client(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key) as s3:
        await s3.delete_object(Bucket=settings.bucket, Key=link)
    created = await expect(await request_generation(place_id, template["id"]), 201, GenerationCreated)

    async def failed() -> bool:
        return (await generation_status(place_id, created.id))["status"] == "error"

    await eventually(failed, timeout=WAIT)
    detail = await generation_status(place_id, created.id)
    assert detail["comment"] == "gave up after 2 attempt(s): the template's PDF is missing from storage"
    assert (
        await db.fetchval("SELECT count(*) FROM generation_failures WHERE generation_id = $1", created.id)
        == 2
    )


async def test_check_lists_tables_added_and_removed_since_the_generation(
    put_place: Any, create_template: Any, request_generation: Any, client: Any
) -> None:
    place_id, tables = await put_place(count=3)
    template = await create_template()
    created = await expect(await request_generation(place_id, template["id"]), 201, GenerationCreated)
    url = f"/api/v1/places/{place_id}/generations/{created.id}/check"
    assert await expect(await client.get(url, headers=READ), 200, CheckResult) == CheckResult(
        ok=True, added_tables=[], removed_tables=[]
    )
    new_table = (uuid.uuid4(), "4")
    await put_place(place_id, [*tables[1:], new_table])
    check = await expect(await client.get(url, headers=READ), 200, CheckResult)
    assert not check.ok
    assert [(t.id, t.label) for t in check.added_tables] == [new_table]
    assert [(t.id, t.label) for t in check.removed_tables] == [tables[0]]


async def test_history_is_newest_first_filtered_and_paged(
    put_place: Any, create_template: Any, request_generation: Any, client: Any
) -> None:
    place_id, _ = await put_place()
    first, second = await create_template(), await create_template()
    ids = []
    for template in (first, second, first):
        ids.append((await (await request_generation(place_id, template["id"])).json())["id"])
    url = f"/api/v1/places/{place_id}/generations"
    page = await expect(await client.get(url, params={"limit": 2}, headers=READ), 200, GenerationHistory)
    assert [g.id for g in page.items] == [ids[2], ids[1]]
    assert page.items[0].tables == 3 and page.items[0].author == "designer"
    rest = await expect(
        await client.get(url, params={"limit": 2, "cursor": page.next_cursor}, headers=READ),
        200,
        GenerationHistory,
    )
    assert [g.id for g in rest.items] == [ids[0]] and rest.next_cursor is None
    only_first = await expect(
        await client.get(url, params={"template_id": first["id"]}, headers=READ), 200, GenerationHistory
    )
    assert [(g.id, g.version) for g in only_first.items] == [(ids[2], 2), (ids[0], 1)]


@pytest.mark.parametrize(
    ("path", "content_type"), [("qr.svg", "image/svg+xml"), ("qr.png?size=256", "image/png")]
)
async def test_the_qr_alone_is_served(client: Any, path: str, content_type: str) -> None:
    response = await client.get(f"/api/v1/tables/{uuid.uuid4()}/{path}", headers=READ)
    assert response.status == 200 and response.content_type == content_type


async def test_a_qr_png_size_out_of_range_is_400(client: Any) -> None:
    error = await expect_error(
        await client.get(f"/api/v1/tables/{uuid.uuid4()}/qr.png?size=99999", headers=READ), 400
    )
    assert error["details"][0]["field"] == "size"
