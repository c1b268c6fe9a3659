from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from quintet_db import create_pool, migrate
from quintet_messaging import MIGRATIONS_DIR
from quintet_testing import eventually

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


@pytest.fixture
def wait_until() -> Callable[..., Awaitable[None]]:
    """`await wait_until(check, within=seconds)`: quintet_testing's `eventually`."""

    async def wait(check: Callable[[], Awaitable[bool]], *, within: float = 20.0) -> None:
        await eventually(check, timeout=within)

    return wait


class TcpProxy:
    """An in-process TCP proxy in front of RabbitMQ or PostgreSQL whose connections a test can cut,
    or freeze (connections stay open, nothing gets through: a half-open connection)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.up = True
        self.connections_cut = 0
        self.refused = 0  # connections refused while down: clients noticed and tried again
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.refused += 1
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.close()

    def drop(self) -> None:
        """Cut every open connection and refuse new ones until `restore()`."""
        self.up = False
        self.connections_cut += len(self._writers) // 2
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.up = True

    def freeze(self) -> None:
        """Keep every connection open but let nothing through until `thaw()`."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def close(self) -> None:
        self.thaw()
        self.drop()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def proxied_amqp_url(amqp_url: str) -> AsyncIterator[tuple[str, TcpProxy]]:
    parts = urlsplit(amqp_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    port = await proxy.start()
    yield _through(amqp_url, port), proxy
    await proxy.close()


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{credentials}127.0.0.1:{port}", parts.path, parts.query, ""))


@pytest.fixture
async def proxied_database(
    database_factory,  # type: ignore[no-untyped-def]
    messaging_template: str,
) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool, TcpProxy]]:
    """A test database reached two ways: directly (for the test's own checks) and through a proxy
    that the test can cut (for the code under test)."""
    dsn = await database_factory.create(messaging_template)
    parts = urlsplit(dsn)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    port = await proxy.start()
    direct = await create_pool(dsn, SCHEMA, max_size=4)
    await direct.execute(TEST_TABLES)
    proxied = await create_pool(_through(dsn, port), SCHEMA, max_size=12)
    yield direct, proxied, proxy
    await proxy.close()
    await proxied.close()
    await direct.close()
