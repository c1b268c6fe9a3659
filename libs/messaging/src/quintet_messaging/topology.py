"""RabbitMQ names and declarations of one service.

- `events` (topic, durable): every event, routing key == event type (`<service>.<event>`).
- `<service>.work` (quorum): bound to `events` with each key the service consumes; task messages
  are published straight to it through the default exchange (routing key = queue name), so a task
  for a service whose queue does not exist yet comes back unroutable and stays in the outbox.
- `<service>.work.wait.<seconds>s` (one per delay tier): fixed `x-message-ttl`, dead-lettered back
  to `<service>.work`. A failed message is republished here with `x-attempt` incremented.
- `<service>.work.parked` (quorum): the work queue's `x-delivery-limit` dead-letters here, a safety
  net for messages that crash their consumers (the worker parks such a message itself one return
  earlier). The worker consumes it and records each message in `parked_messages`, the one record of
  what was given up on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue

from quintet_contracts import EVENTS_EXCHANGE

DEFAULT_EXCHANGE = ""

HEADER_ATTEMPT = "x-attempt"
HEADER_PARK_REASON = "x-park-reason"
HEADER_REQUEST_ID = "x-request-id"
HEADER_TASK = "x-task"
HEADER_TASK_ID = "x-task-id"

# Broker-side redelivery cap (crash loops, consumer losses); our own retry count is x-attempt.
DELIVERY_LIMIT = 20


def work_queue(service: str) -> str:
    return f"{service}.work"


def parked_queue(service: str) -> str:
    return f"{work_queue(service)}.parked"


def tier_label(delay: timedelta) -> str:
    seconds = delay.total_seconds()
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{seconds:g}s"


def wait_queue(service: str, delay: timedelta) -> str:
    return f"{work_queue(service)}.wait.{tier_label(delay)}"


@dataclass(frozen=True)
class Topology:
    service: str
    event_keys: tuple[str, ...]
    delay_tiers: tuple[timedelta, ...]

    @property
    def work_queue(self) -> str:
        return work_queue(self.service)

    @property
    def parked_queue(self) -> str:
        return parked_queue(self.service)

    @property
    def wait_queues(self) -> tuple[str, ...]:
        return tuple(wait_queue(self.service, tier) for tier in self.delay_tiers)

    def wait_queue_for_attempt(self, attempt: int) -> str:
        """Where the retry after failed attempt `attempt` (1-based) waits; the last tier repeats."""
        tier = self.delay_tiers[min(attempt, len(self.delay_tiers)) - 1]
        return wait_queue(self.service, tier)


async def declare_topology(
    channel: AbstractChannel,
    service: str,
    event_keys: Sequence[str],
    delay_tiers: Sequence[timedelta],
) -> Topology:
    """Declare (idempotently) every exchange and queue the service needs; returns their names."""
    if not delay_tiers:
        raise ValueError("at least one delay tier is needed for retries")
    topology = Topology(service, tuple(event_keys), tuple(sorted(delay_tiers)))
    events = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    await channel.declare_queue(topology.parked_queue, durable=True, arguments={"x-queue-type": "quorum"})
    work: AbstractQueue = await channel.declare_queue(
        topology.work_queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEFAULT_EXCHANGE,
            "x-dead-letter-routing-key": topology.parked_queue,
        },
    )
    for tier in topology.delay_tiers:
        await channel.declare_queue(
            wait_queue(service, tier),
            durable=True,
            arguments={
                "x-message-ttl": int(tier.total_seconds() * 1000),
                "x-dead-letter-exchange": DEFAULT_EXCHANGE,
                "x-dead-letter-routing-key": topology.work_queue,
            },
        )
    for key in topology.event_keys:
        await work.bind(events, routing_key=key)
    return topology


# Why a message was parked (`parked_messages.kind`; the free-text `reason` says more):
PARK_KINDS = (
    "failed",  # its handler failed on every attempt
    "invalid-payload",  # the body does not match the registered model (or a task lacks its id)
    "unknown-type",  # no handler is registered for its type
    "redelivered",  # it came back unsettled too often (consumers crashed while handling it)
    "unroutable",  # relay: a task no queue accepted, after every publish attempt
    "unpublishable",  # relay: no AMQP frame can carry it
    "other",  # parked before kinds were recorded, with a reason none of the above
)
