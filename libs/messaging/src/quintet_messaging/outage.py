"""A PostgreSQL outage pauses consumption instead of spending attempts.

When handling fails, the worker asks the gate whether the database is down: a lost connection
says so by its type, any other error by a probe (`SELECT 1` within `probe_timeout`). If it is
down, the deliveries in hand are held (neither acked nor requeued: a requeue would count towards
the queue's delivery limit) and the gate closes: every consumer loop waits, the prefetch limit
stops the broker sending more, and a probe runs every `retry_interval`. When the database answers
again the gate opens and the held deliveries are handled again, as if for the first time.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

log = structlog.get_logger("quintet_messaging.outage")

# Errors that mean the connection (not the statement) failed; anything else is checked by a probe.
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08, and ConnectionDoesNotExistError
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


class DatabaseUnavailable(Exception):
    """Handling stopped because the database cannot be reached, or a delivery's outcome (its parked
    record) could not be written: the delivery stays unacked and is handled again later."""


class DatabaseGate:
    def __init__(self, pool: asyncpg.Pool, *, retry_interval: float, probe_timeout: float = 5.0) -> None:
        self.pool = pool
        self.retry_interval = retry_interval
        self.probe_timeout = probe_timeout
        self.pauses = 0
        self.failed_probes = 0  # probes that found the database still unreachable
        self._open = asyncio.Event()
        self._open.set()
        self._probe: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    async def wait_open(self) -> None:
        await self._open.wait()

    async def is_down(self, error: BaseException) -> bool:
        """Did `error` come from an unreachable database (rather than from the handler's work)?"""
        if isinstance(error, _CONNECTION_LOST):
            return True
        return not await self.reachable()

    async def reachable(self) -> bool:
        try:
            async with asyncio.timeout(self.probe_timeout):
                async with self.pool.acquire(timeout=self.probe_timeout) as conn:
                    await conn.fetchval("SELECT 1")
        except Exception:
            return False
        return True

    def close(self, error: BaseException) -> None:
        """Pause consumption until a probe succeeds (at the earliest after `retry_interval`)."""
        if self._open.is_set():
            self.pauses += 1
            cause = error.__cause__ or error
            log.warning("database unavailable: consumption paused", error=repr(cause))
        self._open.clear()
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._probe_until_back())

    async def _probe_until_back(self) -> None:
        while True:
            await asyncio.sleep(self.retry_interval)
            if await self.reachable():
                break
            self.failed_probes += 1
        log.info("database reachable: consumption resumed")
        self._open.set()

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
            self._probe = None
        self._open.set()
