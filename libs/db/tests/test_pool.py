"""The pool: schema on the search path, JSON as Python objects, a timeout on every wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from quintet_db import PoolTimeouts, create_pool
from quintet_testing import eventually

SHORT = PoolTimeouts(statement=0.3, lock=0.2, idle_in_transaction=0.5, acquire=1.0)


@pytest.fixture
async def dsn(database_factory) -> str:  # type: ignore[no-untyped-def]
    return str(await database_factory.create())


@pytest.fixture
async def short_pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(dsn, "public", min_size=2, max_size=2, timeouts=SHORT)
    yield pool
    await pool.close()


async def test_pool_decodes_jsonb_as_python_objects(dsn: str) -> None:
    pool = await create_pool(dsn, "public", min_size=1, max_size=1)
    try:
        assert await pool.fetchval("SELECT $1::jsonb", {"a": [1, 2]}) == {"a": [1, 2]}
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("setting", "default"),
    [("statement_timeout", "30s"), ("lock_timeout", "5s"), ("idle_in_transaction_session_timeout", "1min")],
)
async def test_every_connection_has_the_default_server_timeouts(dsn: str, setting: str, default: str) -> None:
    pool = await create_pool(dsn, "public", min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute(f"SET {setting} = 0")  # a handler changing it...
        assert await pool.fetchval(f"SHOW {setting}") == default  # ...does not leak to the next use
    finally:
        await pool.close()


async def test_a_pool_for_long_bulk_work_overrides_the_statement_timeout(dsn: str) -> None:
    pool = await create_pool(dsn, "public", min_size=1, max_size=1, timeouts=PoolTimeouts(statement=600))
    try:
        assert await pool.fetchval("SHOW statement_timeout") == "10min"
    finally:
        await pool.close()


async def test_a_statement_over_the_timeout_is_cancelled(short_pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.exceptions.QueryCanceledError):
        await short_pool.execute("SELECT pg_sleep(5)")


async def test_a_lock_wait_over_the_timeout_fails(short_pool: asyncpg.Pool) -> None:
    await short_pool.execute("CREATE TABLE locked (id int)")
    async with short_pool.acquire() as holder, holder.transaction():
        await holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(asyncpg.exceptions.LockNotAvailableError):
            await short_pool.fetchval("SELECT count(*) FROM locked")


async def test_a_session_idle_in_its_transaction_is_ended(dsn: str, short_pool: asyncpg.Pool) -> None:
    observer = await asyncpg.connect(dsn)
    try:
        async with short_pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            pid = await conn.fetchval("SELECT pg_backend_pid()")

            async def ended() -> bool:
                return not await observer.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
                )

            await eventually(ended, timeout=10)
            # However the driver notices the server ended the session, the connection is unusable.
            with pytest.raises(
                (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
            ):
                await conn.fetchval("SELECT 1")
    finally:
        await observer.close()


@pytest.mark.parametrize("shortcut", ["acquire", "fetchval", "execute"])
async def test_waiting_for_a_free_connection_times_out(dsn: str, shortcut: str) -> None:
    pool = await create_pool(dsn, "public", min_size=1, max_size=1, timeouts=SHORT)
    try:
        async with pool.acquire():  # the only connection is busy

            async def use() -> None:
                if shortcut == "acquire":
                    async with pool.acquire():
                        pass
                else:
                    await getattr(pool, shortcut)("SELECT 1")

            attempt = asyncio.ensure_future(use())
            done, _ = await asyncio.wait({attempt}, timeout=5)  # without a timeout it would hang
            assert done == {attempt}
            assert isinstance(attempt.exception(), TimeoutError)
    finally:
        await pool.close()
