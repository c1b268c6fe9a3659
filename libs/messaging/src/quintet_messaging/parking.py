"""Retries and parking of the deliveries a worker could not handle.

A failed delivery is republished to the wait queue of its attempt's tier with `x-attempt`
incremented (the wait queue dead-letters it back to the work queue when its TTL expires), then
acked. After `max_attempts`, or at once for a `Rejection`, it is parked: a `parked_messages` row
and the route's `on_parked` in one transaction, then the ack. A park that cannot be written raises
`DatabaseUnavailable`: the delivery is not acked, it is handled again once the database answers.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from quintet_messaging.acks import Acks, channel_of
from quintet_messaging.outage import DatabaseGate, DatabaseUnavailable
from quintet_messaging.routes import Delivery, Rejection, header_text
from quintet_messaging.topology import HEADER_ATTEMPT, HEADER_PARK_REASON, HEADER_REQUEST_ID, Topology

log = structlog.get_logger("quintet_messaging.parking")

_PARK = """
INSERT INTO parked_messages (queue, message_id, type, task_id, kind, reason, body, headers)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)
"""
_BROKER_HEADERS = ("x-death", "x-first-death-", "x-last-death-", "x-delivery-count")


def own_headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The message's headers minus what the broker added when dead-lettering it."""
    return {
        key: header_text(value) if isinstance(value, bytes) else value
        for key, value in (message.headers or {}).items()
        if not key.startswith(_BROKER_HEADERS)
    }


@dataclass
class Republisher:
    """Publishes copies of deliveries (retries) on the worker's confirming channel."""

    channel: AbstractChannel | None = None
    confirm_timeout: float = 30.0

    async def republish(self, message: AbstractIncomingMessage, queue: str, headers: dict[str, Any]) -> None:
        assert self.channel is not None, "the worker is not started"
        copy = aio_pika.Message(
            body=message.body,
            headers=headers,
            message_id=message.message_id,
            type=message.type,
            content_type=message.content_type,
            correlation_id=message.correlation_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        exchange = self.channel.default_exchange
        result = await exchange.publish(copy, queue, mandatory=True, timeout=self.confirm_timeout)
        if not isinstance(result, aio_pika.abc.aiormq.spec.Basic.Ack):
            raise RuntimeError(f"queue {queue!r} did not accept the message")


class Parking:
    def __init__(
        self,
        pool: asyncpg.Pool,
        acks: Acks,
        gate: DatabaseGate,
        republisher: Republisher,
        *,
        max_attempts: int,
    ) -> None:
        self.pool = pool
        self.acks = acks
        self.gate = gate
        self.republisher = republisher
        self.max_attempts = max_attempts
        self.topology: Topology | None = None
        self.retries = 0  # retries scheduled (attempts spent) by this process

    async def retry_or_park(self, delivery: Delivery, error: Exception) -> None:
        """`delivery`'s handler failed (the database is up): retry it later, or park it."""
        message = delivery.message
        attempt = int(header_text((message.headers or {}).get(HEADER_ATTEMPT)) or 1)
        reason = f"{type(error).__name__}: {error}"
        if attempt >= self.max_attempts:
            failed = f"failed {attempt} attempt(s); last error: {reason}"
            await self.park(
                Rejection(message, delivery.route, delivery.envelope, delivery.task_id, "failed", failed)
            )
            return
        assert self.topology is not None
        headers = own_headers(message)
        headers[HEADER_ATTEMPT] = attempt + 1
        try:
            await self.republisher.republish(message, self.topology.wait_queue_for_attempt(attempt), headers)
        except Exception as publish_error:
            log.warning("could not schedule retry; requeueing", error=repr(publish_error))
            await self.acks.requeue(message)
            return
        self.retries += 1
        await self.acks.ack(message)

    async def park(
        self,
        rejected: Rejection,
        ack: Callable[[AbstractIncomingMessage], Awaitable[None]] | None = None,
    ) -> None:
        """Record `rejected` in `parked_messages` (and run its `on_parked`), then ack it (with `ack`
        for a delivery of another channel than the work queue's)."""
        assert self.topology is not None
        message, route, envelope = rejected.message, rejected.route, rejected.envelope
        headers = own_headers(message)
        headers[HEADER_PARK_REASON] = rejected.reason[:1000]
        message_id: uuid.UUID | None = envelope.message_id if envelope is not None else None
        if message_id is None and message.message_id:
            with contextlib.suppress(ValueError):
                message_id = uuid.UUID(message.message_id)
        subject: Any = rejected.task_id if route is not None and route.kind == "task" else envelope
        row = (
            self.topology.parked_queue,
            message_id,
            message.type,
            rejected.task_id,
            rejected.kind,
            rejected.reason,
            message.body,
            json.dumps(headers, default=str),
        )
        request_id = envelope.request_id if envelope is not None else headers.get(HEADER_REQUEST_ID)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(_PARK, *row)
                if route is not None and route.on_parked is not None and subject is not None:
                    with structlog.contextvars.bound_contextvars(request_id=request_id):
                        await route.on_parked(conn, subject, rejected.reason)
        except Exception as exc:
            if await self.gate.is_down(exc):
                raise DatabaseUnavailable("cannot park: the database is unavailable") from exc
            log.exception("on_parked failed; the message is parked without it")
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute(_PARK, *row)
            except Exception as park_error:
                # Never ack what is recorded nowhere: held, and parked again later.
                raise DatabaseUnavailable("cannot write parked_messages") from park_error
        log.error(
            "message parked",
            message_type=message.type,
            message_id=message.message_id,
            kind=rejected.kind,
            reason=rejected.reason,
        )
        await (ack or self.acks.ack)(message)

    async def record_dead_letter(
        self, message: AbstractIncomingMessage, decoded: Delivery | Rejection
    ) -> None:
        """A message the broker dead-lettered into the parked queue (its delivery limit: consumers
        kept dying on it) is parked like any other, `on_parked` included; held while the database is
        down. A copy carrying `x-park-reason` was recorded when it was parked (by an older worker):
        it is only acked."""
        if HEADER_PARK_REASON in (message.headers or {}):
            await _ack_directly(message)
            return
        death = header_text((message.headers or {}).get("x-first-death-reason")) or "unknown"
        reason = f"dead-lettered by the broker ({death}): consumers kept failing to settle it"
        if isinstance(decoded, Rejection):
            reason = f"{reason}; {decoded.reason}"
        route, envelope, task_id = decoded.route, decoded.envelope, decoded.task_id
        rejected = Rejection(message, route, envelope, task_id, "redelivered", reason)
        while channel_of(message) is not None:  # once its channel is gone, the broker redelivers it
            await self.gate.wait_open()
            try:
                await self.park(rejected, ack=_ack_directly)
                return
            except DatabaseUnavailable as exc:
                self.gate.close(exc)


async def _ack_directly(message: AbstractIncomingMessage) -> None:
    try:
        await message.ack()
    except Exception as exc:
        log.info("could not ack (channel gone); it will be redelivered", error=repr(exc))
