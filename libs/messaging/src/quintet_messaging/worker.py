"""The worker side of a service: event consumers, task handlers, retries, parking, periodic jobs.

One `Worker` per worker process is the composition root of everything that runs there:
it declares the service's topology, runs an `OutboxRelay`, consumes `<service>.work` and runs the
periodic jobs. Handlers are plain async functions registered on it.

Consuming: deliveries are decoded into their registered pydantic model first; an unknown type or an
invalid payload is parked at once (retrying cannot fix it). Valid deliveries are handled in batches
(whatever is already prefetched, up to `batch_size`) in one transaction: one inbox insert for the
whole batch, then each handler whose message was not in the inbox yet. Acks go out after commit.
If a handler fails, the batch is rolled back; the failing message takes the retry path (that
was its attempt) and the rest of the batch is handled again without it. A failed message is acked and
republished to the wait queue of its attempt's tier with `x-attempt` incremented; after
`max_attempts` it is parked: copied to `<service>.work.parked` with `x-park-reason`, recorded in
`parked_messages`, and the service's `on_parked` callback marks the work failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from pydantic import BaseModel, ValidationError

from quintet_contracts import Envelope, EventSpec
from quintet_messaging.outbox import task_type
from quintet_messaging.relay import OutboxRelay, connect
from quintet_messaging.topology import (
    DELIVERY_LIMIT,
    HEADER_ATTEMPT,
    HEADER_PARK_REASON,
    HEADER_REQUEST_ID,
    HEADER_TASK_ID,
    Topology,
    declare_topology,
)

log = structlog.get_logger("quintet_messaging.worker")

EventHandler = Callable[[asyncpg.Connection, Envelope[Any]], Awaitable[None]]
TaskHandler = Callable[[asyncpg.Connection, str, Any], Awaitable[None]]
# on_parked(conn, task_id for tasks | envelope for events, reason)
ParkedHandler = Callable[[asyncpg.Connection, Any, str], Awaitable[None]]
Job = Callable[[asyncpg.Pool], Awaitable[None]]

DEFAULT_DELAY_TIERS = (timedelta(seconds=1), timedelta(seconds=10), timedelta(seconds=60))

_INBOX_MANY = """
INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($2::uuid[])
ON CONFLICT DO NOTHING RETURNING message_id
"""
_INBOX_ONE = "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true"
_PARK = """
INSERT INTO parked_messages (queue, message_id, type, task_id, reason, body, headers)
VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)
"""
_SCHEDULE_INSERT = """
INSERT INTO schedules (name, period, next_run_at) VALUES ($1, $2, now()) ON CONFLICT (name) DO NOTHING
"""
# The next run is the next period boundary (epoch-aligned), so whichever instance claims a period,
# nobody else can claim the same one: exactly one run per period however many workers run.
_SCHEDULE_CLAIM = """
UPDATE schedules
SET next_run_at = to_timestamp((floor(extract(epoch FROM now()) / $3::float8) + 1) * $3::float8),
    last_run_at = now(),
    last_owner = $2
WHERE name = $1 AND next_run_at <= now()
RETURNING next_run_at
"""
HEADER_DELIVERY_COUNT = "x-delivery-count"  # set by quorum queues: returns of this message so far
_BROKER_HEADERS = ("x-death", "x-first-death-", "x-last-death-", HEADER_DELIVERY_COUNT)


@dataclass(frozen=True)
class _Route:
    kind: Literal["event", "task"]
    envelope_model: type[Envelope[Any]]
    handler: Callable[..., Awaitable[None]]
    on_parked: ParkedHandler | None


@dataclass
class _Delivery:
    message: AbstractIncomingMessage
    route: _Route
    envelope: Envelope[Any]
    task_id: str | None

    async def handle(self, conn: asyncpg.Connection) -> None:
        with structlog.contextvars.bound_contextvars(
            request_id=self.envelope.request_id, message_type=self.envelope.type
        ):
            if self.route.kind == "task":
                await self.route.handler(conn, self.task_id, self.envelope.payload)
            else:
                await self.route.handler(conn, self.envelope)


class _AckWatermark:
    """Acks settled deliveries with `multiple=True` up to the lowest delivery still in progress.

    Deliveries on one channel carry increasing tags and are handled concurrently; acking each one
    is a frame and an event-loop round trip per message, which dominates a fast consumer. Instead
    a delivery is marked settled and one ack covers every settled delivery below the first
    unsettled one. A new channel (after a reconnect) starts a new sequence; settling a delivery of
    a dead channel does nothing (the broker redelivers it and the inbox absorbs the duplicate).
    """

    def __init__(self) -> None:
        self._channel: Any = None
        self._pending: deque[int] = deque()
        self._settled: set[int] = set()

    def received(self, message: AbstractIncomingMessage) -> None:
        channel = message.channel  # raises if the channel is already closed: then nothing to track
        if channel is not self._channel:
            self._channel = channel
            self._pending.clear()
            self._settled.clear()
        assert message.delivery_tag is not None
        self._pending.append(message.delivery_tag)

    def unsettled(self, message: AbstractIncomingMessage) -> bool:
        tag = message.delivery_tag
        return tag in self._pending and tag not in self._settled

    async def settle(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        """Mark `messages` settled, then send at most one ack for everything settled below the first
        delivery still in progress (settling a batch one message at a time would ack each one)."""
        for message in messages:
            if _channel_of(message) is self._channel:
                self._settled.add(message.delivery_tag or 0)
        highest: int | None = None
        while self._pending and self._pending[0] in self._settled:
            highest = self._pending.popleft()
            self._settled.discard(highest)
        if highest is None:
            return
        channel = self._channel
        if channel.is_closed:
            return
        await channel.basic_ack(delivery_tag=highest, multiple=True)


_INBOX_PRUNE = """
DELETE FROM inbox WHERE ctid IN (
    SELECT ctid FROM inbox WHERE processed_at < now() - $1::interval LIMIT 10000
)
"""


def _inbox_pruner(retention: timedelta) -> Job:
    async def prune(pool: asyncpg.Pool) -> None:
        removed = 0
        while True:  # in slices: no long lock on a large inbox
            status = await pool.execute(_INBOX_PRUNE, retention)
            count = int(status.rsplit(" ", 1)[1])
            removed += count
            if count < 10000:
                break
        if removed:
            log.info("inbox pruned", removed=removed, older_than=str(retention))

    return prune


def _channel_of(message: AbstractIncomingMessage) -> Any:
    """The delivery's channel, or None once that channel is closed (aio-pika raises then): such a
    delivery is the broker's to redeliver and must not stop the others of its batch being acked."""
    try:
        return message.channel
    except aio_pika.exceptions.ChannelInvalidStateError:
        return None


def _header_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _own_headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The message's headers minus what the broker added when dead-lettering it."""
    return {
        key: _header_text(value) if isinstance(value, bytes) else value
        for key, value in (message.headers or {}).items()
        if not key.startswith(_BROKER_HEADERS)
    }


def _jsonable(headers: dict[str, Any]) -> str:
    return json.dumps(headers, default=str)


class Worker:
    def __init__(
        self,
        service: str,
        pool: asyncpg.Pool,
        amqp_url: str,
        *,
        schema: str,
        max_attempts: int = 5,
        delay_tiers: Sequence[timedelta] = DEFAULT_DELAY_TIERS,
        prefetch: int = 64,
        concurrency: int = 4,
        batch_size: int = 64,
        batch_linger: float = 0.002,
        run_relay: bool = True,
        relay_batch_size: int = 500,
        poll_interval: float = 1.0,
        reconnect_interval: float = 1.0,
        inbox_retention: timedelta | None = timedelta(days=7),
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.service = service
        self.pool = pool
        self.amqp_url = amqp_url
        self.schema = schema
        self.max_attempts = max_attempts
        self.delay_tiers = tuple(delay_tiers)
        self.prefetch = prefetch
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.batch_linger = batch_linger
        self.run_relay = run_relay
        self.relay_batch_size = relay_batch_size
        self.poll_interval = poll_interval
        self.reconnect_interval = reconnect_interval
        self.owner = f"{service}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.consumer = f"{service}.work"
        self.relay: OutboxRelay | None = None
        self.topology: Topology | None = None
        self._routes: dict[str, _Route] = {}
        self._event_keys: list[str] = []
        self._jobs: list[tuple[str, timedelta, Job]] = []
        if inbox_retention is not None:
            # Duplicates arrive within minutes (redeliveries, retries, a relay re-publishing an
            # unconfirmed row); inbox rows far older than that only grow the table.
            self.every(
                "quintet-inbox-prune",
                min(inbox_retention, timedelta(hours=1)),
                _inbox_pruner(inbox_retention),
            )
        self._incoming: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._consume_connection: AbstractRobustConnection | None = None
        self._publish_connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._acks = _AckWatermark()

    # -- registration -------------------------------------------------------------------------

    def on_event(
        self, spec: EventSpec[Any], handler: EventHandler, *, on_parked: ParkedHandler | None = None
    ) -> None:
        """Consume `spec` events: `handler(conn, envelope)` runs in the inbox transaction."""
        model = Envelope[spec.payload_model]  # type: ignore[name-defined]
        self._add_route(spec.type, _Route("event", model, handler, on_parked))
        self._event_keys.append(spec.routing_key)

    def on_task(
        self,
        task: str,
        payload_model: type[BaseModel],
        handler: TaskHandler,
        *,
        on_parked: ParkedHandler | None = None,
    ) -> None:
        """Handle task `task`: `handler(conn, task_id, payload)` runs in the inbox transaction."""
        route = _Route("task", Envelope[payload_model], handler, on_parked)  # type: ignore[valid-type]
        self._add_route(task_type(self.service, task), route)

    def every(self, name: str, period: timedelta, job: Job) -> None:
        """Run `job(pool)` once per `period` across all workers of the service."""
        if period.total_seconds() <= 0:
            raise ValueError("period must be positive")
        self._jobs.append((name, period, job))

    def _add_route(self, type_: str, route: _Route) -> None:
        if type_ in self._routes:
            raise ValueError(f"a handler for {type_!r} is already registered")
        self._routes[type_] = route

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._consume_connection = await connect(self.amqp_url, reconnect_interval=self.reconnect_interval)
        self._publish_connection = await connect(self.amqp_url, reconnect_interval=self.reconnect_interval)
        self._publish_channel = await self._publish_connection.channel(publisher_confirms=True)
        self.topology = await declare_topology(
            self._publish_channel, self.service, self._event_keys, self.delay_tiers
        )
        if self.run_relay:
            self.relay = OutboxRelay(
                self.pool,
                self.amqp_url,
                schema=self.schema,
                batch_size=self.relay_batch_size,
                poll_interval=self.poll_interval,
                reconnect_interval=self.reconnect_interval,
            )
            self._spawn(self.relay.run(), "relay")
        for index in range(self.concurrency):
            self._spawn(self._process_loop(), f"consumer-{index}")
        for name, period, job in self._jobs:
            self._spawn(self._schedule_loop(name, period, job), f"schedule-{name}")
        channel = await self._consume_connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        # A (passive) declaration, not a bare handle: only declared queues get their consumers
        # restored by the robust channel after a reconnect.
        self._queue = await channel.get_queue(self.topology.work_queue, ensure=True)
        self._consumer_tag = await self._queue.consume(self._on_message)
        log.info("worker started", service=self.service, owner=self.owner)

    async def stop(self) -> None:
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._queue.cancel(self._consumer_tag), 5)
            self._queue = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for connection in (self._consume_connection, self._publish_connection):
            if connection is not None:
                await connection.close()
        self._consume_connection = self._publish_connection = None
        # Unacked deliveries went back to the queue with the connection.
        self._incoming = asyncio.Queue()
        self._acks = _AckWatermark()

    async def run(self) -> None:
        """Run until cancelled (or until a background loop dies, which is re-raised)."""
        await self.start()
        try:
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
            await asyncio.Future()  # nothing failed and nothing to wait for: wait for cancellation
        finally:
            await self.stop()

    async def __aenter__(self) -> Worker:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(coro))
        self._tasks[-1].set_name(f"{self.service}-{name}")

    # -- consuming ----------------------------------------------------------------------------

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            self._acks.received(message)
        except aio_pika.exceptions.ChannelInvalidStateError:
            return  # its channel is gone: the broker redelivers it
        self._incoming.put_nowait(message)

    async def _process_loop(self) -> None:
        while True:
            batch = [await self._incoming.get()]
            self._drain_into(batch)
            if len(batch) < self.batch_size and self.batch_linger > 0:
                # Deliveries trickle in one event-loop step each; under load, lingering a moment
                # turns many tiny transactions into one. Idle latency cost: `batch_linger`.
                await asyncio.sleep(self.batch_linger)
                self._drain_into(batch)
            try:
                await self._handle_batch(batch)
            except Exception:
                # Never lose the loop. Unsettled deliveries go back to the queue now: an unsettled
                # one would also hold back the ack watermark of everything after it.
                log.exception("consumer batch crashed")
                for message in batch:
                    if self._acks.unsettled(message):
                        await self._settle(message, requeue=True)

    def _drain_into(self, batch: list[AbstractIncomingMessage]) -> None:
        while len(batch) < self.batch_size and not self._incoming.empty():
            batch.append(self._incoming.get_nowait())

    async def _handle_batch(self, batch: list[AbstractIncomingMessage]) -> None:
        deliveries: list[_Delivery] = []
        for message in batch:
            delivery = await self._decode(message)
            if delivery is not None:
                deliveries.append(delivery)
        await self._handle_deliveries(deliveries)

    async def _handle_deliveries(self, deliveries: list[_Delivery]) -> None:
        while len(deliveries) > 1:
            failed: tuple[_Delivery, Exception] | None = None
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    ids = [d.envelope.message_id for d in deliveries]
                    fresh = {row["message_id"] for row in await conn.fetch(_INBOX_MANY, self.consumer, ids)}
                    for delivery in deliveries:
                        if delivery.envelope.message_id not in fresh:
                            continue  # already processed (or a duplicate within this batch)
                        fresh.discard(delivery.envelope.message_id)
                        try:
                            await delivery.handle(conn)
                        except Exception as exc:
                            failed = (delivery, exc)
                            raise
            except Exception as exc:
                if failed is None:
                    log.warning("batch transaction failed, handling one by one", error=repr(exc))
                    break
                # The whole batch rolled back: the failed message takes its retry path (that was
                # its attempt), the others go again as a batch without it.
                delivery, error = failed
                self._log_failure(delivery, error)
                await self._retry_or_park(delivery, error)
                deliveries = [d for d in deliveries if d is not delivery]
                continue
            await self._settle_many([delivery.message for delivery in deliveries])
            return
        for delivery in deliveries:
            await self._handle_one(delivery)

    @staticmethod
    def _log_failure(delivery: _Delivery, error: Exception) -> None:
        log.warning(
            "handler failed",
            message_type=delivery.envelope.type,
            message_id=str(delivery.envelope.message_id),
            request_id=delivery.envelope.request_id,
            error=repr(error),
        )

    async def _handle_one(self, delivery: _Delivery) -> None:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if await conn.fetchval(_INBOX_ONE, self.consumer, delivery.envelope.message_id):
                    await delivery.handle(conn)
        except Exception as exc:
            self._log_failure(delivery, exc)
            await self._retry_or_park(delivery, exc)
            return
        await self._ack(delivery.message)

    async def _decode(self, message: AbstractIncomingMessage) -> _Delivery | None:
        headers = message.headers or {}
        route = self._routes.get(message.type or "")
        task_id = _header_text(headers.get(HEADER_TASK_ID))
        if route is None:
            await self._park(message, None, None, task_id, f"unknown message type {message.type!r}")
            return None
        try:
            envelope = route.envelope_model.model_validate_json(message.body)
        except ValidationError as exc:
            reason = f"invalid payload: {exc.error_count()} error(s): {exc.errors(include_url=False)}"
            await self._park(message, route, None, task_id, reason)
            return None
        if route.kind == "task" and task_id is None:
            await self._park(message, route, None, None, f"task message without {HEADER_TASK_ID} header")
            return None
        returned = int(_header_text(headers.get(HEADER_DELIVERY_COUNT)) or 0)
        if returned >= DELIVERY_LIMIT - 1:
            # The broker would dead-letter it at its next return, unrecorded: park it ourselves, with
            # a reason and on_parked, instead of handling it once more.
            reason = (
                f"returned to the queue unsettled {returned} times (a consumer crashed or lost its "
                "connection while handling it each time)"
            )
            await self._park(message, route, envelope, task_id, reason)
            return None
        return _Delivery(message, route, envelope, task_id)

    async def _retry_or_park(self, delivery: _Delivery, exc: Exception) -> None:
        message = delivery.message
        attempt = int(_header_text((message.headers or {}).get(HEADER_ATTEMPT)) or 1)
        reason = f"{type(exc).__name__}: {exc}"
        if attempt >= self.max_attempts:
            await self._park(
                message,
                delivery.route,
                delivery.envelope,
                delivery.task_id,
                f"failed {attempt} attempt(s); last error: {reason}",
            )
            return
        assert self.topology is not None
        headers = _own_headers(message)
        headers[HEADER_ATTEMPT] = attempt + 1
        try:
            await self._republish(message, self.topology.wait_queue_for_attempt(attempt), headers)
        except Exception as publish_error:
            log.warning("could not schedule retry; requeueing", error=repr(publish_error))
            await self._settle(message, requeue=True)
            return
        await self._ack(message)

    async def _park(
        self,
        message: AbstractIncomingMessage,
        route: _Route | None,
        envelope: Envelope[Any] | None,
        task_id: str | None,
        reason: str,
    ) -> None:
        assert self.topology is not None
        headers = _own_headers(message)
        headers[HEADER_PARK_REASON] = reason[:1000]
        log.error("message parked", message_type=message.type, message_id=message.message_id, reason=reason)
        try:
            await self._republish(message, self.topology.parked_queue, headers)
        except Exception as publish_error:
            log.warning("could not park; requeueing", error=repr(publish_error))
            await self._settle(message, requeue=True)
            return
        message_id: uuid.UUID | None = envelope.message_id if envelope is not None else None
        if message_id is None and message.message_id:
            with contextlib.suppress(ValueError):
                message_id = uuid.UUID(message.message_id)
        subject: Any = task_id if route is not None and route.kind == "task" else envelope
        queue = self.topology.parked_queue
        row = (queue, message_id, message.type, task_id, reason, message.body, _jsonable(headers))
        request_id = envelope.request_id if envelope is not None else headers.get(HEADER_REQUEST_ID)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(_PARK, *row)
                if route is not None and route.on_parked is not None and subject is not None:
                    with structlog.contextvars.bound_contextvars(request_id=request_id):
                        await route.on_parked(conn, subject, reason)
        except Exception:
            log.exception("on_parked failed; the message stays in the parked queue and table")
            with contextlib.suppress(Exception):
                async with self.pool.acquire() as conn:
                    await conn.execute(_PARK, *row)
        await self._ack(message)

    async def _republish(self, message: AbstractIncomingMessage, queue: str, headers: dict[str, Any]) -> None:
        assert self._publish_channel is not None
        copy = aio_pika.Message(
            body=message.body,
            headers=headers,
            message_id=message.message_id,
            type=message.type,
            content_type=message.content_type,
            correlation_id=message.correlation_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        exchange = self._publish_channel.default_exchange
        result = await exchange.publish(copy, queue, mandatory=True, timeout=30)
        if not isinstance(result, aio_pika.abc.aiormq.spec.Basic.Ack):
            raise RuntimeError(f"queue {queue!r} did not accept the message")

    async def _ack(self, message: AbstractIncomingMessage) -> None:
        await self._settle(message, requeue=None)

    async def _settle(self, message: AbstractIncomingMessage, *, requeue: bool | None) -> None:
        # After a connection loss the delivery tag is dead; the broker redelivers and the inbox
        # absorbs the duplicate.
        try:
            if requeue is not None:
                await message.nack(requeue=requeue)
        except Exception as exc:
            log.info("could not settle delivery (channel gone); it will be redelivered", error=repr(exc))
            return
        await self._settle_many([message])  # a nacked tag is no longer outstanding: skipped by the ack

    async def _settle_many(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        try:
            await self._acks.settle(messages)
        except Exception as exc:
            log.info("could not ack deliveries (channel gone); they will be redelivered", error=repr(exc))

    # -- periodic jobs ------------------------------------------------------------------------

    async def _schedule_loop(self, name: str, period: timedelta, job: Job) -> None:
        seconds = period.total_seconds()
        while True:
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute(_SCHEDULE_INSERT, name, period)
                break
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("cannot register schedule", name=name, error=repr(exc))
                await asyncio.sleep(min(seconds, 5))
        while True:
            try:
                async with self.pool.acquire() as conn:
                    claimed = await conn.fetchval(_SCHEDULE_CLAIM, name, self.owner, seconds)
                if claimed is not None:
                    with structlog.contextvars.bound_contextvars(job=name):
                        await job(self.pool)
            except Exception:
                log.exception("periodic job failed", name=name)
            # Wake just after the next period boundary (the same boundary the claim aligns to).
            await asyncio.sleep(seconds - (time.time() % seconds) + 0.01)
