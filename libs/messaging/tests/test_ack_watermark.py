"""The ack watermark: one `multiple=True` ack per settled run of deliveries, never past one in progress.

The channel and deliveries are minimal stand-ins for aio-pika's objects (only the attributes the
watermark reads); the broker-level behaviour is covered by the fault tests in test_messaging.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quintet_messaging.acks import AckWatermark


@dataclass
class Channel:
    is_closed: bool = False
    acks: list[tuple[int, bool]] = field(default_factory=list)

    async def basic_ack(self, delivery_tag: int, multiple: bool) -> None:
        self.acks.append((delivery_tag, multiple))


@dataclass
class Delivery:
    channel: Channel
    delivery_tag: int


def deliveries(watermark: AckWatermark, channel: Channel, count: int) -> list[Any]:
    received = [Delivery(channel, tag) for tag in range(1, count + 1)]
    for delivery in received:
        watermark.received(delivery)  # type: ignore[arg-type]
    return received


async def test_a_settled_batch_is_acked_with_one_frame() -> None:
    watermark, channel = AckWatermark(), Channel()
    batch = deliveries(watermark, channel, 50)
    await watermark.settle(batch)
    assert channel.acks == [(50, True)]


async def test_the_ack_never_passes_a_delivery_in_progress() -> None:
    watermark, channel = AckWatermark(), Channel()
    first, second, third, fourth = deliveries(watermark, channel, 4)
    await watermark.settle([second, fourth])
    assert channel.acks == []  # tag 1 is still being handled
    assert watermark.unsettled(first) and not watermark.unsettled(second)
    await watermark.settle([first])
    assert channel.acks == [(2, True)]  # 3 is still in progress, so 4 waits
    await watermark.settle([third])
    assert channel.acks == [(2, True), (4, True)]


async def test_deliveries_of_a_dead_channel_are_ignored() -> None:
    watermark, old, new = AckWatermark(), Channel(), Channel()
    stale = deliveries(watermark, old, 2)
    fresh = deliveries(watermark, new, 2)  # a reconnect: a new delivery-tag sequence
    await watermark.settle(stale)
    assert old.acks == [] and new.acks == []
    await watermark.settle(fresh)
    assert new.acks == [(2, True)]


class ClosedChannelDelivery:
    """A delivery whose channel is gone: aio-pika raises on `.channel` then."""

    delivery_tag = 1

    @property
    def channel(self) -> Channel:
        import aio_pika

        raise aio_pika.exceptions.ChannelInvalidStateError("channel closed")


async def test_a_delivery_of_a_closed_channel_does_not_stop_its_batch_being_acked() -> None:
    watermark, channel = AckWatermark(), Channel()
    fresh = deliveries(watermark, channel, 2)  # after the reconnect
    await watermark.settle([ClosedChannelDelivery(), *fresh])  # type: ignore[list-item]
    assert channel.acks == [(2, True)]


async def test_a_delivery_of_an_old_channel_is_not_unsettled_although_its_tag_is_in_use_again() -> None:
    watermark, old, new = AckWatermark(), Channel(), Channel()
    [stale] = deliveries(watermark, old, 1)
    [fresh] = deliveries(watermark, new, 1)  # tags restart at 1 on the new channel
    assert watermark.unsettled(fresh)
    assert not watermark.unsettled(stale)
