"""The worker side of a service: event consumers, task handlers, retries, parking, periodic jobs.

One `Worker` per worker process is the composition root of everything that runs there: it declares
the service's topology, runs an `OutboxRelay`, consumes `<service>.work` and runs the periodic jobs.
Handlers are plain async functions registered on it. The parts live in their own modules:
`routes` (registration, decoding), `consumer` (batches, inbox), `parking` (retries, parking),
`acks` (batched acks), `outage` (a database outage pauses consumption), `schedule` (periodic jobs,
inbox pruning).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from pydantic import BaseModel

from quintet_contracts import EventSpec
from quintet_messaging.acks import Acks
from quintet_messaging.consumer import Consumer
from quintet_messaging.outage import DatabaseGate
from quintet_messaging.parking import Parking, Republisher
from quintet_messaging.relay import OutboxRelay, connect
from quintet_messaging.routes import EventHandler, ParkedHandler, Routes, TaskHandler
from quintet_messaging.schedule import INBOX_PRUNE_JOB, Job, inbox_pruner, run_schedule
from quintet_messaging.topology import Topology, declare_topology

log = structlog.get_logger("quintet_messaging.worker")

DEFAULT_DELAY_TIERS = (timedelta(seconds=1), timedelta(seconds=10), timedelta(seconds=60))


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker runs; the defaults suit a service's worker process."""

    delay_tiers: tuple[timedelta, ...] = DEFAULT_DELAY_TIERS  # retry waits; the last one repeats
    prefetch: int = 64  # unacked deliveries in hand (also what a database outage holds)
    concurrency: int = 4  # consumer loops, each one database connection at a time
    batch_size: int = 64
    batch_linger: float = 0.002  # seconds a small batch waits for more deliveries
    run_relay: bool = True
    relay_batch_size: int = 500
    poll_interval: float = 1.0  # relay polling (NOTIFY wakes it sooner)
    reconnect_interval: float = 1.0  # broker reconnects; database probes while it is down
    confirm_timeout: float = 10.0  # publisher confirms (relay batches, retries)
    inbox_retention: timedelta | None = timedelta(days=7)  # None: never prune the inbox


class Worker:
    def __init__(
        self,
        service: str,
        pool: asyncpg.Pool,
        amqp_url: str,
        *,
        schema: str,
        max_attempts: int = 5,
        options: WorkerOptions = WorkerOptions(),
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.service = service
        self.pool = pool
        self.amqp_url = amqp_url
        self.schema = schema
        self.options = options
        self.owner = f"{service}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.relay: OutboxRelay | None = None
        self.topology: Topology | None = None
        self.started = asyncio.Event()  # set once it consumes (topology declared, relay running)
        self.routes = Routes(service)
        self.gate = DatabaseGate(pool, retry_interval=options.reconnect_interval)
        self._republisher = Republisher(confirm_timeout=options.confirm_timeout)
        self.parking = Parking(pool, Acks(), self.gate, self._republisher, max_attempts=max_attempts)
        self.consumer = Consumer(
            f"{service}.work",
            pool,
            self.routes,
            self.parking,
            batch_size=options.batch_size,
            batch_linger=options.batch_linger,
        )
        self._jobs: list[tuple[str, timedelta, Job]] = []
        if options.inbox_retention is not None:
            retention = options.inbox_retention
            self.every(INBOX_PRUNE_JOB, min(retention, timedelta(hours=1)), inbox_pruner(retention))
        self._tasks: list[asyncio.Task[None]] = []
        self._connections: list[AbstractRobustConnection] = []
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None

    # -- registration -------------------------------------------------------------------------

    def on_event(
        self, spec: EventSpec[Any], handler: EventHandler, *, on_parked: ParkedHandler | None = None
    ) -> None:
        """Consume `spec` events: `handler(conn, envelope)` runs in the inbox transaction."""
        self.routes.add_event(spec, handler, on_parked)

    def on_task(
        self,
        task: str,
        payload_model: type[BaseModel],
        handler: TaskHandler,
        *,
        on_parked: ParkedHandler | None = None,
    ) -> None:
        """Handle task `task`: `handler(conn, task_id, payload)` runs in the inbox transaction."""
        self.routes.add_task(task, payload_model, handler, on_parked)

    def every(self, name: str, period: timedelta, job: Job) -> None:
        """Run `job(pool)` once per `period` across all workers of the service."""
        if period.total_seconds() <= 0:
            raise ValueError("period must be positive")
        self._jobs.append((name, period, job))

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        options = self.options
        consume = await connect(self.amqp_url, reconnect_interval=options.reconnect_interval)
        self._connections.append(consume)
        publish = await connect(self.amqp_url, reconnect_interval=options.reconnect_interval)
        self._connections.append(publish)
        self._republisher.channel = await publish.channel(publisher_confirms=True)
        self.topology = await declare_topology(
            self._republisher.channel, self.service, self.routes.event_keys, options.delay_tiers
        )
        self.parking.topology = self.topology
        if options.run_relay:
            self.relay = OutboxRelay(
                self.pool,
                self.amqp_url,
                schema=self.schema,
                batch_size=options.relay_batch_size,
                poll_interval=options.poll_interval,
                reconnect_interval=options.reconnect_interval,
                confirm_timeout=options.confirm_timeout,
            )
            self._spawn(self.relay.run(), "relay")
        for index in range(options.concurrency):
            self._spawn(self.consumer.run(), f"consumer-{index}")
        for name, period, job in self._jobs:
            self._spawn(run_schedule(self.pool, self.owner, name, period, job), f"schedule-{name}")
        channel = await consume.channel()
        await channel.set_qos(prefetch_count=options.prefetch)
        # A (passive) declaration, not a bare handle: only declared queues get their consumers
        # restored by the robust channel after a reconnect.
        self._queue = await channel.get_queue(self.topology.work_queue, ensure=True)
        self._consumer_tag = await self._queue.consume(self.consumer.on_message)
        # Its own channel: its acks must not mix with the work queue's batched (multiple) acks.
        dead_letters = await consume.channel()
        await dead_letters.set_qos(prefetch_count=8)
        parked = await dead_letters.get_queue(self.topology.parked_queue, ensure=True)
        await parked.consume(self._record_dead_letter)
        self.started.set()
        log.info("worker started", service=self.service, owner=self.owner)

    async def stop(self) -> None:
        self.started.clear()
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._queue.cancel(self._consumer_tag), 5)
            self._queue = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.gate.aclose()
        for connection in self._connections:
            await connection.close()
        self._connections.clear()
        self.consumer.reset()  # unacked deliveries went back to the queue with the connection

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

    async def _record_dead_letter(self, message: AbstractIncomingMessage) -> None:
        await self.parking.record_dead_letter(message, self.routes.decode(message))

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(coro))
        self._tasks[-1].set_name(f"{self.service}-{name}")
