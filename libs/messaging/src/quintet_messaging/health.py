"""Broker reachability for `/ready` endpoints."""

from __future__ import annotations

import asyncio

import aio_pika
from aio_pika.abc import AbstractConnection


async def broker_ready(amqp_url: str, *, within: float = 2.0) -> bool:
    """Can a connection to the broker be opened right now? (For processes without a connection.)"""
    connection = aio_pika.Connection(aio_pika.connection.make_url(amqp_url))
    try:
        await connection.connect(timeout=within)
    except (OSError, TimeoutError, aio_pika.exceptions.AMQPError):
        return False
    finally:
        # Closed on failure too: an unclosed connection schedules its own close when collected.
        await connection.close()
    return True


async def check_broker(connection: AbstractConnection, *, within: float = 1.0) -> bool:
    """Is this (robust) connection currently connected?"""
    if connection.is_closed:
        return False
    try:
        await asyncio.wait_for(connection.ready(), within)
    except TimeoutError:
        return False
    return True
