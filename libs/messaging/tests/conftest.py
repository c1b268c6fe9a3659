from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from quintet_db import create_pool, migrate
from quintet_messaging import MIGRATIONS_DIR

SCHEMA = "msgtest"

# Tables the test handlers write to, so assertions can look at what was processed (and how often).
TEST_TABLES = """
CREATE TABLE processed (message_id uuid NOT NULL, key text NOT NULL, request_id text,
                        at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE failed_work (subject text NOT NULL, reason text NOT NULL);
CREATE TABLE job_runs (owner text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
"""


def _migrate(dsn: str) -> None:
    migrate(dsn, SCHEMA, [MIGRATIONS_DIR])


@pytest.fixture(scope="session")
async def messaging_template(database_factory) -> str:  # type: ignore[no-untyped-def]
    return await database_factory.template("messaging", _migrate)


@pytest.fixture
async def pool(database_factory, messaging_template: str) -> AsyncIterator[asyncpg.Pool]:  # type: ignore[no-untyped-def]
    dsn = await database_factory.create(messaging_template)
    pool = await create_pool(dsn, SCHEMA, max_size=12)
    await pool.execute(TEST_TABLES)
    yield pool
    await pool.close()


@pytest.fixture
def service() -> str:
    """A service name of its own per test: its queues never see another test's messages."""
    return f"t{uuid.uuid4().hex[:10]}"


async def eventually(predicate: Callable[[], Awaitable[bool]], *, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def wait_until() -> Callable[..., Awaitable[None]]:
    return eventually
