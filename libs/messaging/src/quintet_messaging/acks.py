"""Settling deliveries: one `multiple=True` ack for everything settled below the first delivery
still in progress, and nacks (requeue) that leave the watermark consistent.

Deliveries on one channel carry increasing tags and are handled concurrently; acking each one is a
frame and an event-loop round trip per message, which dominates a fast consumer. Instead a delivery
is marked settled and one ack covers every settled delivery below the first unsettled one. A new
channel (after a reconnect) starts a new sequence; settling a delivery of a dead channel does
nothing (the broker redelivers it and the inbox absorbs the duplicate).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage

log = structlog.get_logger("quintet_messaging.acks")


def channel_of(message: AbstractIncomingMessage) -> Any:
    """The delivery's channel, or None once that channel is closed (aio-pika raises then): such a
    delivery is the broker's to redeliver and must not stop the others of its batch being acked."""
    try:
        return message.channel
    except aio_pika.exceptions.ChannelInvalidStateError:
        return None


class AckWatermark:
    """Tracks the deliveries of the current channel; acks up to the lowest one still in progress."""

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
        """Still ours to settle: received on the current channel and neither acked nor nacked."""
        if channel_of(message) is not self._channel:
            return False  # tags restart on a new channel: an old delivery's tag means nothing now
        tag = message.delivery_tag
        return tag in self._pending and tag not in self._settled

    async def settle(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        """Mark `messages` settled, then send at most one ack for everything settled below the first
        delivery still in progress (settling a batch one message at a time would ack each one)."""
        for message in messages:
            if channel_of(message) is self._channel:
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


class Acks:
    """Ack and requeue deliveries; after a connection loss a delivery tag is dead, and settling it
    only logs: the broker redelivers the message and the inbox absorbs the duplicate."""

    def __init__(self) -> None:
        self._watermark = AckWatermark()

    def reset(self) -> None:
        """Forget every delivery (their connection is closed: they went back to the queue)."""
        self._watermark = AckWatermark()

    def received(self, message: AbstractIncomingMessage) -> bool:
        """Track a new delivery; False when its channel is already gone (the broker redelivers it)."""
        try:
            self._watermark.received(message)
        except aio_pika.exceptions.ChannelInvalidStateError:
            return False
        return True

    def unsettled(self, message: AbstractIncomingMessage) -> bool:
        return self._watermark.unsettled(message)

    async def ack(self, message: AbstractIncomingMessage) -> None:
        await self.ack_many([message])

    async def ack_many(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        try:
            await self._watermark.settle(messages)
        except Exception as exc:
            log.info("could not ack deliveries (channel gone); they will be redelivered", error=repr(exc))

    async def requeue(self, message: AbstractIncomingMessage) -> None:
        try:
            await message.nack(requeue=True)
        except Exception as exc:
            log.info("could not requeue delivery (channel gone); it will be redelivered", error=repr(exc))
            return
        await self.ack_many([message])  # a nacked tag is no longer outstanding: skipped by the ack
