"""asyncpg pool bound to one service schema, with a timeout on every wait.

Every connection gets `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout`
(session defaults, so they survive the pool's `RESET ALL` between uses), and every acquire, the
`pool.fetch`/`execute` shortcuts included, gives up after `acquire` seconds. What surfaces is
`TimeoutError` (no free connection), `asyncpg.exceptions.QueryCanceledError` (statement timeout)
or `asyncpg.exceptions.LockNotAvailableError` (lock timeout): the web layer answers 503.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from asyncpg.pool import PoolAcquireContext


class TimeoutSettings(Protocol):
    """The platform settings `PoolTimeouts.of` reads (quintet_runtime.PlatformSettings has them)."""

    pg_statement_timeout: float
    pg_lock_timeout: float
    pg_idle_in_transaction_timeout: float
    pg_acquire_timeout: float
    pg_worker_statement_timeout: float
    pg_worker_lock_timeout: float


@dataclass(frozen=True)
class PoolTimeouts:
    """Seconds; 0 disables a server-side timeout."""

    statement: float = 30.0
    lock: float = 5.0
    idle_in_transaction: float = 60.0
    acquire: float = 5.0

    @classmethod
    def of(cls, settings: TimeoutSettings, *, worker: bool = False) -> PoolTimeouts:
        """The configured timeouts; a worker's pool (long bulk statements) gets the worker ones."""
        if worker:
            statement = settings.pg_worker_statement_timeout
            return cls(
                statement=statement,
                lock=settings.pg_worker_lock_timeout,
                idle_in_transaction=max(settings.pg_idle_in_transaction_timeout, statement),
                acquire=settings.pg_acquire_timeout,
            )
        return cls(
            statement=settings.pg_statement_timeout,
            lock=settings.pg_lock_timeout,
            idle_in_transaction=settings.pg_idle_in_transaction_timeout,
            acquire=settings.pg_acquire_timeout,
        )

    def server_settings(self) -> dict[str, str]:
        return {
            "statement_timeout": _milliseconds(self.statement),
            "lock_timeout": _milliseconds(self.lock),
            "idle_in_transaction_session_timeout": _milliseconds(self.idle_in_transaction),
        }


def _milliseconds(seconds: float) -> str:
    return str(int(seconds * 1000))


class Pool(asyncpg.Pool):
    """An asyncpg pool whose acquires (explicit or inside a shortcut) time out by default."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # json/jsonb travel as Python objects; handlers never see raw JSON strings.
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text"
        )


async def create_pool(
    dsn: str,
    schema: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    timeouts: PoolTimeouts = PoolTimeouts(),
    **kwargs: Any,
) -> asyncpg.Pool:
    """A pool whose connections see the service's schema first on the search_path.

    The statement cache is kept (default) because services use a small fixed set of queries.
    `kwargs` go to asyncpg's pool (`max_queries`, `command_timeout`, ...).
    """
    server_settings = {
        **timeouts.server_settings(),
        "search_path": f"{schema},public",
        "application_name": schema,
        **kwargs.pop("server_settings", {}),
    }
    options: dict[str, Any] = {
        "max_queries": 50000,
        "max_inactive_connection_lifetime": 300.0,
        "connection_class": asyncpg.Connection,
        "record_class": asyncpg.Record,
        "loop": None,
        **kwargs,
    }
    pool = Pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings=server_settings,
        acquire_timeout=timeouts.acquire,
        **options,
    )
    await pool
    return pool
