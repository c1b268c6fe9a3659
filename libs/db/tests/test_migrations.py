from pathlib import Path

import asyncpg

from quintet_db import create_pool, migrate, stairway

MIGRATIONS = Path(__file__).parent / "migrations"


async def test_migrations_land_in_the_service_schema_and_are_idempotent(database_factory):
    dsn = await database_factory.create()
    assert migrate(dsn, "widgets_svc", [MIGRATIONS]) == 2
    assert migrate(dsn, "widgets_svc", [MIGRATIONS]) == 0
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name = 'widgets'"
        )
    finally:
        await conn.close()
    assert [(r["table_schema"], r["table_name"]) for r in tables] == [("widgets_svc", "widgets")]


async def test_two_services_share_a_database_without_sharing_tables(database_factory):
    dsn = await database_factory.create()
    migrate(dsn, "svc_a", [MIGRATIONS])
    migrate(dsn, "svc_b", [MIGRATIONS])
    pool_a = await create_pool(dsn, "svc_a", min_size=1, max_size=2)
    pool_b = await create_pool(dsn, "svc_b", min_size=1, max_size=2)
    try:
        await pool_a.execute("INSERT INTO widgets (name, colour) VALUES ('a', 'red')")
        assert await pool_b.fetchval("SELECT count(*) FROM widgets") == 0
        assert await pool_a.fetchval("SELECT colour FROM widgets") == "red"
    finally:
        await pool_a.close()
        await pool_b.close()


async def test_stairway_walks_every_migration_up_down_up(database_factory):
    dsn = await database_factory.create()
    assert stairway(dsn, "stairs", [MIGRATIONS]) == 2
    assert migrate(dsn, "stairs", [MIGRATIONS]) == 0


async def test_migration_runs_leave_no_session_behind(database_factory, pg_server_dsn):
    """A database used as a clone template must have no sessions: the runner closes its connection."""
    dsn = await database_factory.create()
    migrate(dsn, "closing", [MIGRATIONS])
    stairway(dsn, "closing2", [MIGRATIONS])
    database = dsn.rsplit("/", 1)[1]
    conn = await asyncpg.connect(pg_server_dsn)
    try:
        sessions = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database
        )
    finally:
        await conn.close()
    assert sessions == 0


async def test_concurrent_runners_on_a_new_schema_all_succeed(database_factory):
    """Runners of the same service starting at once (two containers, say) on an empty schema."""
    import asyncio

    dsn = await database_factory.create()
    for round_ in range(3):
        results = await asyncio.gather(
            *(asyncio.to_thread(migrate, dsn, f"race_{round_}", [MIGRATIONS]) for _ in range(8)),
            return_exceptions=True,
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert sorted(results) == [0] * 7 + [2]  # one runner applied both migrations


def test_the_migration_runner_gets_the_dsn_connection_parameters():
    from urllib.parse import parse_qs, urlsplit

    from quintet_db.migrations import _yoyo_url

    url = _yoyo_url("postgresql://u:p%40ss@db:5433/app?sslmode=require&host=/run/pg&schema=other", "svc")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("postgresql+psycopg", "u:p%40ss@db:5433", "/app")
    assert parse_qs(parts.query) == {"sslmode": ["require"], "host": ["/run/pg"], "schema": ["svc"]}
