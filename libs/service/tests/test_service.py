"""The shared service composition against real PostgreSQL, RabbitMQ and S3."""

from pathlib import Path

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from quintet_runtime import PlatformSettings
from quintet_s3 import ObjectStore
from quintet_service import PG_POOL, S3_CLIENT, create_service_app, service_main, worker_resources
from quintet_testing.http import api_client, bearer, expect
from quintet_web import RouteTable

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


async def test_the_api_gets_its_pool_on_the_schema_its_s3_client_and_readiness(
    database_factory, platform_settings
):
    dsn = await database_factory.migrated("notes_svc", MIGRATIONS)
    settings = NotesSettings(pg_dsn=dsn, **platform_settings)
    app = create_service_app("notes", "notes_svc", settings, [routes], buckets=["notes-bucket"])
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
    async with api_client(create_service_app("notes", "notes_svc", settings, [routes])) as client:
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


async def test_migrate_command_applies_into_the_schema_and_exits_zero(database_factory, platform_settings):
    dsn = await database_factory.create()

    def never(_settings):  # api and worker are not run by this test
        raise AssertionError("not this command")

    settings_factory = lambda: NotesSettings(pg_dsn=dsn, **platform_settings)  # noqa: E731
    for _ in range(2):  # idempotent
        code = service_main("notes", "cli_notes", MIGRATIONS, settings_factory, never, never, ["migrate"])
        assert code == 0
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('cli_notes.notes')::text") == "cli_notes.notes"
    finally:
        await conn.close()
