"""Fixtures: a fresh migrated database per test, the api over real HTTP, the real worker in-process
(relay, renderer, scheduler, retention) against the test RabbitMQ vhost and the S3 server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pymupdf
import pytest
from aiohttp import FormData

from posm import SERVICE
from posm.settings import Settings
from posm.worker import build_worker, render_pool
from quintet_service import worker_resources
from quintet_testing import bearer, service_fixtures

READ = bearer("posm:read", sub="reader")
WRITE = bearer("posm:read posm:write", sub="designer")
A6 = (297.64, 419.53)
SETTINGS = {
    "page": 1,
    "qr": {"x": 70, "y": 100, "size": 160},
    "text": {"x": 148.8, "y": 330, "font_size": 22, "align": "center", "format": "Стол {label}"},
}
WAIT = 60.0  # seconds a test waits for the worker (a 2-core machine shared by many test runs)


def template_pdf(pages: int = 1, size: tuple[float, float] = A6) -> bytes:
    """A template like a designer's: text on every page."""
    with pymupdf.open() as document:
        for number in range(1, pages + 1):
            page = document.new_page(width=size[0], height=size[1])
            page.insert_text((20, 40), f"Template page {number}", fontsize=14)
        return bytes(document.tobytes())


globals().update(
    service_fixtures(
        SERVICE,
        bucket="posm-tests",
        pg_pool_max=8,
        scheduler_period_seconds=0.2,
        max_attempts=2,
        render_slice=7,  # small: every generation of the tests takes several slices
    )
)


@pytest.fixture(scope="session")
def executor() -> Iterator[ProcessPoolExecutor]:
    """One pool of rendering processes for the session (spawning them per test is slow)."""
    with render_pool(Settings(render_processes=2)) as pool:
        yield pool


@pytest.fixture
async def worker(settings: Settings, executor: ProcessPoolExecutor) -> AsyncIterator[Any]:
    """The real worker running in this event loop against the test database."""
    async with worker_resources(settings, SERVICE.schema, buckets=[settings.bucket]) as (pool, s3):
        running = build_worker(settings, pool, s3, executor)
        task = asyncio.ensure_future(running.run())
        yield running
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def template_form(pdf: bytes | None, metadata: dict[str, Any] | None) -> FormData:
    form = FormData()
    if pdf is not None:
        form.add_field("file", pdf, filename="template.pdf", content_type="application/pdf")
    if metadata is not None:
        form.add_field("metadata", json.dumps(metadata), content_type="application/json")
    return form


def template_metadata(**fields: Any) -> dict[str, Any]:
    return {"name": "Table tent", "settings": SETTINGS, "visibility": "global", **fields}


@pytest.fixture
def put_place(client: Any) -> Callable[..., Any]:
    async def put(
        place_id: uuid.UUID | None = None,
        tables: list[tuple[uuid.UUID, str]] | None = None,
        brand_id: uuid.UUID | None = None,
        count: int = 3,
    ) -> tuple[uuid.UUID, list[tuple[uuid.UUID, str]]]:
        place_id = place_id or uuid.uuid4()
        tables = tables if tables is not None else [(uuid.uuid4(), str(n)) for n in range(1, count + 1)]
        body = {
            "name": "Кафе «Пушкин»",
            "brand_id": str(brand_id) if brand_id else None,
            "tables": [{"id": str(t), "label": label} for t, label in tables],
        }
        response = await client.put(f"/api/v1/places/{place_id}", json=body, headers=WRITE)
        assert response.status == 200, await response.text()
        return place_id, tables

    return put


@pytest.fixture
def create_template(client: Any) -> Callable[..., Any]:
    async def create(pdf: bytes | None = None, **fields: Any) -> dict[str, Any]:
        form = template_form(pdf or template_pdf(), template_metadata(**fields))
        response = await client.post("/api/v1/templates", data=form, headers=WRITE)
        assert response.status == 201, await response.text()
        return dict(await response.json())

    return create


@pytest.fixture
def request_generation(client: Any) -> Callable[..., Any]:
    async def generate(place_id: uuid.UUID, template_id: int, key: str | None = None, **body: Any) -> Any:
        headers = {**WRITE, "Idempotency-Key": key or uuid.uuid4().hex}
        return await client.post(
            f"/api/v1/places/{place_id}/generations",
            json={"template_id": template_id, **body},
            headers=headers,
        )

    return generate


@pytest.fixture
def generation_status(client: Any) -> Callable[..., Any]:
    async def status(place_id: uuid.UUID, generation_id: int) -> dict[str, Any]:
        response = await client.get(f"/api/v1/places/{place_id}/generations/{generation_id}", headers=READ)
        assert response.status == 200, await response.text()
        return dict(await response.json())

    return status
