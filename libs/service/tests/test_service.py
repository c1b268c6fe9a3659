"""The shared service composition against real PostgreSQL, RabbitMQ and S3."""

import asyncio
import dataclasses
import urllib.parse
from pathlib import Path
from typing import ClassVar

import asyncpg
import pytest
from aiohttp import web
from pydantic import BaseModel

from quintet_runtime import PlatformSettings
from quintet_s3 import ObjectStore
from quintet_service import PG_POOL, S3_CLIENT, ServiceDeclaration, worker_resources
from quintet_testing.http import api_client, bearer, expect, expect_error
from quintet_web import ErrorTable, RouteTable

MIGRATIONS = [Path(__file__).parent / "migrations"]


class Count(BaseModel):
    notes: int
    objects: int


routes = RouteTable("notes")


@routes.get("/notes/count", summary="Count notes", scope="notes:read", response=Count)
async def count_notes(request: web.Request) -> Count:
    notes = await request.app[PG_POOL].fetchval("SELECT count(*) FROM notes")
    objects = await ObjectStore(request.app[S3_CLIENT]).list("notes-bucket")  # created at startup
    return Count(notes=notes, objects=len(objects))


class NotesSettings(PlatformSettings):
    port: int = 8099
    bucket: str = "notes-bucket"


class NotesBusy(Exception):
    details: ClassVar[dict[str, str]] = {"retry": "later"}


NOTES = ServiceDeclaration(
    name="notes",
    package="quintet_service",
    schema="notes_svc",
    settings=NotesSettings,
    routes=routes,
    buckets=("bucket",),
    migrations=MIGRATIONS[0],
)


@routes.get("/notes/busy", summary="Always busy", response=Count, errors=(409,))
async def busy_notes(request: web.Request) -> Count:
    raise NotesBusy("notes are busy")


async def test_the_api_gets_its_pool_on_the_schema_its_s3_client_and_readiness(
    database_factory, platform_settings
):
    dsn = await database_factory.migrated("notes_svc", MIGRATIONS)
    settings = NotesSettings(pg_dsn=dsn, **platform_settings)
    app = NOTES.create_app(settings)
    async with api_client(app) as client:
        await app[PG_POOL].execute("INSERT INTO notes VALUES (1, 'a')")  # unqualified: the service schema
        body = await expect(await client.get("/notes/count", headers=bearer("notes:read")), 200, Count)
        assert body == Count(notes=1, objects=0)
        ready = await expect(await client.get("/ready"), 200, dict)
        assert ready["checks"] == {"database": "ok", "broker": "ok"}


async def test_ready_reports_an_unreachable_broker(database_factory, platform_settings):
    dsn = await database_factory.migrated("notes_svc", MIGRATIONS)
    settings = NotesSettings(
        pg_dsn=dsn, **{**platform_settings, "amqp_url": "amqp://guest:guest@127.0.0.1:1/"}
    )
    async with api_client(NOTES.create_app(settings)) as client:
        body = await expect(await client.get("/ready"), 503, dict)
        assert body["checks"]["database"] == "ok" and body["checks"]["broker"].startswith("failed")


async def test_worker_resources_open_and_close_the_pool(database_factory, platform_settings):
    dsn = await database_factory.migrated("notes_svc", MIGRATIONS)
    settings = NotesSettings(pg_dsn=dsn, **platform_settings)
    async with worker_resources(settings, "notes_svc", min_pool=3, buckets=["notes-worker"]) as (pool, s3):
        assert pool.get_max_size() >= 3
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0
        await ObjectStore(s3).put("notes-worker", "k", b"v")
    assert pool.is_closing()


async def test_migrate_command_applies_into_the_schema_and_exits_zero(database_factory, monkeypatch):
    dsn = await database_factory.create()
    monkeypatch.setenv("QUINTET_PG_DSN", dsn)  # the command reads its settings from the environment

    declaration = dataclasses.replace(NOTES, schema="cli_notes")
    for _ in range(2):  # idempotent
        assert declaration.main(["migrate"]) == 0
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('cli_notes.notes')::text") == "cli_notes.notes"
    finally:
        await conn.close()


async def test_the_error_table_answers_a_service_exception_with_its_status_code_and_details(
    database_factory, platform_settings
):
    dsn = await database_factory.migrated("notes_svc", MIGRATIONS)
    settings = NotesSettings(pg_dsn=dsn, **platform_settings)
    declaration = dataclasses.replace(NOTES, errors=ErrorTable({NotesBusy: (409, "notes_busy")}))
    async with api_client(declaration.create_app(settings)) as client:
        body = await expect_error(await client.get("/notes/busy"), 409, "notes_busy")
        assert body == {"code": "notes_busy", "message": "notes are busy", "details": {"retry": "later"}}


async def test_an_exception_outside_the_table_is_an_opaque_500(database_factory, platform_settings):
    dsn = await database_factory.migrated("notes_svc", MIGRATIONS)
    async with api_client(NOTES.create_app(NotesSettings(pg_dsn=dsn, **platform_settings))) as client:
        body = await expect_error(await client.get("/notes/busy"), 500, "internal_error")
        assert "busy" not in body["message"]


@pytest.mark.parametrize(
    "exc, code",
    [
        (TimeoutError(), "timeout"),
        (asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"), "timeout"),
        (asyncpg.exceptions.LockNotAvailableError("could not obtain lock"), "busy"),
    ],
)
async def test_a_wait_that_runs_out_is_a_503_with_retry_after_and_no_exception_text(
    database_factory, platform_settings, exc, code
):
    failing = RouteTable("failing")

    @failing.get("/fail", summary="Fails with a wait that ran out")
    async def fail(request: web.Request) -> None:
        raise exc

    dsn = await database_factory.migrated("notes_svc", MIGRATIONS)
    declaration = dataclasses.replace(NOTES, routes=failing)
    async with api_client(declaration.create_app(NotesSettings(pg_dsn=dsn, **platform_settings))) as client:
        response = await client.get("/fail")
        body = await expect_error(response, 503, code)
        assert response.headers["Retry-After"] == "1"
        assert "statement" not in body["message"] and "lock" not in body["message"]


async def test_ready_polled_often_opens_one_broker_connection(database_factory, platform_settings, amqp_url):
    accepted = 0
    parts = urllib.parse.urlsplit(amqp_url)

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port or 5672)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    proxy = await asyncio.start_server(forward, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    proxied = urllib.parse.urlunsplit(
        parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{port}")
    )
    dsn = await database_factory.migrated("notes_svc", MIGRATIONS)
    settings = NotesSettings(pg_dsn=dsn, **{**platform_settings, "amqp_url": proxied})
    async with proxy, api_client(NOTES.create_app(settings)) as client:
        answers = await asyncio.gather(*(client.get("/ready") for _ in range(20)))
        assert [a.status for a in answers] == [200] * 20
    assert accepted == 1
