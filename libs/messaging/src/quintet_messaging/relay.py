"""The outbox relay: publishes committed outbox rows with publisher confirms, then deletes them.

Several relays may run against one outbox (one per worker process): rows are claimed with
`FOR UPDATE SKIP LOCKED`, and a row is deleted in the claiming transaction only after the broker
confirmed it. A row whose publish failed (connection lost, nack, no confirm within
`confirm_timeout`) is left in place and published again later, so delivery is at least once;
consumers absorb duplicates in their inbox. The confirm timeout also bounds how long a half-open
connection can hold a batch's row locks.

An event the broker returns as unroutable has no subscriber, which is normal: it is sent (deleted),
only counted (`unroutable_events`). A task returned as unroutable (its service's queue does not
exist yet: a consumer that has not started, or a typo) is retried with exponential backoff (1 s
doubling, at most 5 minutes apart); after `max_publish_attempts` (default 12, about 20 minutes) it
leaves the outbox for `parked_messages` (queue `outbox`) with the reason, in the same transaction.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aio_pika
import aiormq
import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from pamqp import commands as spec
from pamqp.header import ContentHeader

from quintet_contracts import EVENTS_EXCHANGE
from quintet_messaging.batch_publish import OutgoingMessage, publish_batch
from quintet_messaging.topology import HEADER_REQUEST_ID

log = structlog.get_logger("quintet_messaging.relay")

_CLAIM = """
SELECT id, message_id, message_type, exchange, routing_key, body, headers::text AS headers,
       publish_attempts
FROM outbox
WHERE available_at <= now()
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
_DELETE = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"
# An unroutable message (nobody bound yet) is not "sent": it is kept and retried with backoff.
_POSTPONE = """
UPDATE outbox
SET publish_attempts = publish_attempts + 1,
    last_error = $2,
    available_at = now() + least(interval '1 second' * power(2, publish_attempts), interval '5 minutes')
WHERE id = ANY($1::bigint[])
"""
# Rows given up on leave the outbox for parked_messages, each with its reason, in the claiming
# transaction: unroutable too often, or unpublishable (a header or property no AMQP frame can encode,
# which would fail its whole batch on every try and hold back every later row).
_PARK = """
WITH given_up AS (
    SELECT * FROM unnest($1::bigint[], $2::text[]) AS g (id, reason)
), parked AS (
    DELETE FROM outbox o USING given_up WHERE o.id = given_up.id
    RETURNING o.message_id, o.message_type, o.body, o.headers, given_up.reason
)
INSERT INTO parked_messages (queue, message_id, type, kind, reason, body, headers)
SELECT 'outbox', message_id, message_type, $3, reason, body, headers FROM parked
"""
# Only rows not due yet: a due row nobody could claim is locked by another relay's batch (or an
# open transaction), and waking at once for it would spin; NOTIFY or the poll brings it back.
_NEXT_DUE = """
SELECT extract(epoch FROM min(available_at) - now())::float8 FROM outbox WHERE available_at > now()
"""


def notify_channel(schema: str) -> str:
    return f"outbox_{schema}"


async def connect(amqp_url: str, *, reconnect_interval: float = 1.0) -> AbstractRobustConnection:
    """A robust connection (reconnects and restores channels/consumers after broker loss)."""
    return await aio_pika.connect_robust(amqp_url, reconnect_interval=reconnect_interval)


def _message(row: asyncpg.Record) -> OutgoingMessage:
    headers: dict[str, Any] = json.loads(row["headers"]) if row["headers"] else {}
    properties = spec.Basic.Properties(
        message_id=str(row["message_id"]),
        message_type=row["message_type"],
        content_type="application/json",
        delivery_mode=int(aio_pika.DeliveryMode.PERSISTENT),
        correlation_id=headers.get(HEADER_REQUEST_ID),
        headers=headers,
    )
    return OutgoingMessage(row["exchange"], row["routing_key"], bytes(row["body"]), properties)


def _unroutable_reason(row: asyncpg.Record, attempts: int) -> str:
    return (
        f"unroutable: no queue bound to {row['routing_key']} on exchange {row['exchange']} "
        f"after {attempts} publish attempts"
    )


def _unpublishable(rows: list[asyncpg.Record]) -> list[tuple[int, str]]:
    """(id, reason) of the rows whose message cannot be encoded as AMQP frames (checked only after
    a batch failed, so the common path never pays for it)."""
    bad = []
    for row in rows:
        try:
            message = _message(row)
            spec.Basic.Publish(exchange=message.exchange, routing_key=message.routing_key).marshal()
            ContentHeader(properties=message.properties, body_size=len(message.body)).marshal()
        except Exception as exc:
            bad.append((row["id"], f"cannot be published: {type(exc).__name__}: {exc}"[:1000]))
    return bad


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        amqp_url: str,
        *,
        schema: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        reconnect_interval: float = 1.0,
        max_publish_attempts: int = 12,
        confirm_timeout: float = 10.0,
    ) -> None:
        if max_publish_attempts < 1:
            raise ValueError("max_publish_attempts must be >= 1")
        self.pool = pool
        self.max_publish_attempts = max_publish_attempts
        self.amqp_url = amqp_url
        self.schema = schema
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.reconnect_interval = reconnect_interval
        self.confirm_timeout = confirm_timeout
        self.published = 0
        self.unroutable_events = 0  # events nobody subscribes to (sent, not an error)
        self._wakeup = asyncio.Event()

    async def run(self) -> None:
        """Relay until cancelled."""
        connection = await connect(self.amqp_url, reconnect_interval=self.reconnect_interval)
        listener = asyncio.create_task(self._listen(), name=f"outbox-listen-{self.schema}")
        try:
            channel = await connection.channel(publisher_confirms=True)
            while True:
                # Cleared before claiming, so a NOTIFY arriving during the batch is not lost.
                self._wakeup.clear()
                try:
                    claimed, failed = await self.relay_batch(channel)
                except Exception as exc:
                    # Database or broker trouble: nothing was deleted, the rows are retried.
                    log.warning("outbox relay batch failed", error=repr(exc))
                    await asyncio.sleep(self.reconnect_interval)
                    continue
                if failed:
                    # Broker trouble: give the robust connection time to come back.
                    await asyncio.sleep(min(self.reconnect_interval, 0.5))
                    continue
                if claimed >= self.batch_size:
                    continue
                await self._sleep_until_due()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await connection.close()

    async def _sleep_until_due(self) -> None:
        timeout = self.poll_interval
        try:
            async with self.pool.acquire() as conn:
                due_in = await conn.fetchval(_NEXT_DUE)
            if due_in is not None:
                timeout = max(0.0, min(timeout, due_in + 0.005))
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            pass
        if timeout <= 0:
            return
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        except TimeoutError:
            pass

    async def _listen(self) -> None:
        """LISTEN for outbox inserts; if the connection breaks, polling covers until it is back."""
        channel = notify_channel(self.schema)

        def wake(*_: object) -> None:
            self._wakeup.set()

        while True:
            try:
                await self._listen_once(channel, wake)
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
                log.warning("outbox listener lost", error=repr(exc))
            await asyncio.sleep(self.poll_interval)

    async def _listen_once(self, channel: str, wake: Callable[..., None]) -> None:
        lost = asyncio.Event()

        def on_lost(_conn: object) -> None:
            lost.set()

        async with self.pool.acquire() as conn:
            conn.add_termination_listener(on_lost)
            await conn.add_listener(channel, wake)
            try:
                await lost.wait()
            finally:
                if not conn.is_closed():
                    conn.remove_termination_listener(on_lost)
                    await conn.remove_listener(channel, wake)

    async def relay_batch(self, channel: AbstractChannel) -> tuple[int, int]:
        """Publish one claimed batch; returns (rows claimed, rows whose publish failed)."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_CLAIM, self.batch_size)
            if not rows:
                return 0, 0
            started = time.perf_counter()
            try:
                results = await publish_batch(
                    channel, [_message(row) for row in rows], confirm_timeout=self.confirm_timeout
                )
            except Exception as exc:  # channel closed or reconnecting, or a row no frame can carry
                unpublishable = _unpublishable(rows)
                if unpublishable:
                    await self._park(
                        conn, unpublishable, "unpublishable", "outbox messages cannot be published, parked"
                    )
                    return len(rows), 0  # the rest goes out with the next batch
                results = [exc] * len(rows)
            sent: list[int] = []
            returned: list[asyncpg.Record] = []
            failed = 0
            unroutable_events = 0
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, aiormq.spec.Basic.Ack):
                    sent.append(row["id"])
                elif isinstance(result, BaseException) and not isinstance(result, Exception):
                    raise result  # cancellation: the transaction rolls back, rows stay
                elif isinstance(result, Exception):
                    failed += 1
                elif row["exchange"] == EVENTS_EXCHANGE:
                    sent.append(row["id"])  # an event nobody subscribes to: delivered to no one, sent
                    unroutable_events += 1
                else:
                    returned.append(row)
            if sent:
                await conn.execute(_DELETE, sent)
            if returned:
                await self._give_up_or_postpone(conn, returned)
            if failed:
                log.warning("outbox publish failed, will retry", failed=failed, sent=len(sent))
            log.debug("outbox batch", sent=len(sent), seconds=round(time.perf_counter() - started, 4))
        self.published += len(sent) - unroutable_events
        self.unroutable_events += unroutable_events
        return len(rows), failed

    async def _give_up_or_postpone(self, conn: asyncpg.Connection, returned: list[asyncpg.Record]) -> None:
        """Unroutable tasks: parked on their last attempt, otherwise retried later with backoff."""
        last = [row for row in returned if row["publish_attempts"] + 1 >= self.max_publish_attempts]
        if last:
            reasons = [(row["id"], _unroutable_reason(row, row["publish_attempts"] + 1)) for row in last]
            await self._park(conn, reasons, "unroutable", "outbox tasks unroutable too often, parked")
        later = [row["id"] for row in returned if row["publish_attempts"] + 1 < self.max_publish_attempts]
        if later:
            log.warning("outbox tasks unroutable, postponed", count=len(later))
            await conn.execute(_POSTPONE, later, "unroutable (returned by broker)")

    @staticmethod
    async def _park(conn: asyncpg.Connection, rows: list[tuple[int, str]], kind: str, message: str) -> None:
        ids, reasons = zip(*rows, strict=True)
        await conn.execute(_PARK, list(ids), list(reasons), kind)
        log.error(message, count=len(ids), reason=reasons[0])
