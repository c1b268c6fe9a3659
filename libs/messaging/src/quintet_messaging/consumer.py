"""Handling deliveries in batches, each batch in one transaction with one inbox insert.

Deliveries wait in `incoming`; each consumer loop takes whatever is already there (up to
`batch_size`, lingering `batch_linger` for more), decodes it, parks the rejections and runs the
handlers of the rest in one transaction: one inbox insert for the whole batch, then each handler
whose message was not in the inbox yet. Acks go out after commit. If a handler fails, the batch
rolls back; the failing message takes the retry path (that was its attempt) and the rest of the
batch is handled again without it. If the database is down, nothing is spent: see `outage`.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage

from quintet_messaging.acks import Acks
from quintet_messaging.outage import DatabaseGate, DatabaseUnavailable
from quintet_messaging.parking import Parking
from quintet_messaging.routes import Delivery, Rejection, Routes

log = structlog.get_logger("quintet_messaging.consumer")

_INBOX_MANY = """
INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($2::uuid[])
ON CONFLICT DO NOTHING RETURNING message_id
"""
_INBOX_ONE = "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true"


class Consumer:
    def __init__(
        self,
        consumer: str,
        pool: asyncpg.Pool,
        routes: Routes,
        parking: Parking,
        *,
        batch_size: int,
        batch_linger: float,
    ) -> None:
        self.consumer = consumer
        self.pool = pool
        self.routes = routes
        self.parking = parking
        self.acks: Acks = parking.acks
        self.gate: DatabaseGate = parking.gate
        self.batch_size = batch_size
        self.batch_linger = batch_linger
        self.incoming: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

    def reset(self) -> None:
        """Forget every delivery in hand (their connection closed: they went back to the queue)."""
        self.incoming = asyncio.Queue()
        self.acks.reset()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        if self.acks.received(message):
            self.incoming.put_nowait(message)

    async def run(self) -> None:
        """One consumer loop, until cancelled."""
        while True:
            batch = [await self.incoming.get()]
            self._drain_into(batch)
            if len(batch) < self.batch_size and self.batch_linger > 0:
                # Deliveries trickle in one event-loop step each; under load, lingering a moment
                # turns many tiny transactions into one. Idle latency cost: `batch_linger`.
                await asyncio.sleep(self.batch_linger)
                self._drain_into(batch)
            try:
                await self.handle(batch)
            except Exception:
                # Never lose the loop. Unsettled deliveries go back to the queue now: an unsettled
                # one would also hold back the ack watermark of everything after it.
                log.exception("consumer batch crashed")
                for message in batch:
                    if self.acks.unsettled(message):
                        await self.acks.requeue(message)

    def _drain_into(self, batch: list[AbstractIncomingMessage]) -> None:
        while len(batch) < self.batch_size and not self.incoming.empty():
            batch.append(self.incoming.get_nowait())

    async def handle(self, batch: list[AbstractIncomingMessage]) -> None:
        """Handle `batch`; while the database is down, hold it and try again when it is back."""
        while True:
            await self.gate.wait_open()
            batch = [message for message in batch if self.acks.unsettled(message)]
            if not batch:
                return
            try:
                await self._handle_once(batch)
                return
            except DatabaseUnavailable as exc:
                self.gate.close(exc)

    async def _handle_once(self, batch: list[AbstractIncomingMessage]) -> None:
        deliveries: list[Delivery] = []
        for message in batch:
            decoded = self.routes.decode(message)
            if isinstance(decoded, Rejection):
                await self.parking.park(decoded)
            else:
                deliveries.append(decoded)
        await self._handle_deliveries(deliveries)

    async def _handle_deliveries(self, deliveries: list[Delivery]) -> None:
        while len(deliveries) > 1:
            failed: tuple[Delivery, Exception] | None = None
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
                if await self.gate.is_down(exc):
                    raise DatabaseUnavailable("the database is unavailable") from exc
                if failed is None:
                    log.warning("batch transaction failed, handling one by one", error=repr(exc))
                    break
                # The whole batch rolled back: the failed message takes its retry path (that was
                # its attempt), the others go again as a batch without it.
                delivery, error = failed
                _log_failure(delivery, error)
                await self.parking.retry_or_park(delivery, error)
                deliveries = [d for d in deliveries if d is not delivery]
                continue
            await self.acks.ack_many([delivery.message for delivery in deliveries])
            return
        for delivery in deliveries:
            await self._handle_one(delivery)

    async def _handle_one(self, delivery: Delivery) -> None:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if await conn.fetchval(_INBOX_ONE, self.consumer, delivery.envelope.message_id):
                    await delivery.handle(conn)
        except Exception as exc:
            if await self.gate.is_down(exc):
                raise DatabaseUnavailable("the database is unavailable") from exc
            _log_failure(delivery, exc)
            await self.parking.retry_or_park(delivery, exc)
            return
        await self.acks.ack(delivery.message)


def _log_failure(delivery: Delivery, error: Exception) -> None:
    log.warning(
        "handler failed",
        message_type=delivery.envelope.type,
        message_id=str(delivery.envelope.message_id),
        request_id=delivery.envelope.request_id,
        error=repr(error),
    )
