"""What a worker consumes: the registered handlers and the decoding of a delivery for them.

A delivery is decoded into its registered pydantic envelope before anything runs. What no retry can
fix (an unknown type, an invalid payload, a task without its id, a message that kept crashing its
consumers) becomes a `Rejection`: it is parked at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel, ValidationError

from quintet_contracts import Envelope, EventSpec
from quintet_messaging.outbox import task_type
from quintet_messaging.topology import DELIVERY_LIMIT, HEADER_TASK_ID

EventHandler = Callable[[asyncpg.Connection, Envelope[Any]], Awaitable[None]]
TaskHandler = Callable[[asyncpg.Connection, str, Any], Awaitable[None]]
# on_parked(conn, task_id for tasks | envelope for events, reason)
ParkedHandler = Callable[[asyncpg.Connection, Any, str], Awaitable[None]]

HEADER_DELIVERY_COUNT = "x-delivery-count"  # set by quorum queues: returns of this message so far


@dataclass(frozen=True)
class Route:
    kind: Literal["event", "task"]
    envelope_model: type[Envelope[Any]]
    handler: Callable[..., Awaitable[None]]
    on_parked: ParkedHandler | None


@dataclass
class Delivery:
    """A decoded delivery, ready for its handler."""

    message: AbstractIncomingMessage
    route: Route
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


@dataclass
class Rejection:
    """A delivery to park without handling it, and why."""

    message: AbstractIncomingMessage
    route: Route | None
    envelope: Envelope[Any] | None
    task_id: str | None
    kind: str  # one of PARK_KINDS
    reason: str


def header_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class Routes:
    """The handlers of one service, by message type, and the event keys its queue is bound to."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.event_keys: list[str] = []
        self._routes: dict[str, Route] = {}

    def add_event(self, spec: EventSpec[Any], handler: EventHandler, on_parked: ParkedHandler | None) -> None:
        model = Envelope[spec.payload_model]  # type: ignore[name-defined]
        self._add(spec.type, Route("event", model, handler, on_parked))
        self.event_keys.append(spec.routing_key)

    def add_task(
        self, task: str, payload_model: type[BaseModel], handler: TaskHandler, on_parked: ParkedHandler | None
    ) -> None:
        route = Route("task", Envelope[payload_model], handler, on_parked)  # type: ignore[valid-type]
        self._add(task_type(self.service, task), route)

    def _add(self, type_: str, route: Route) -> None:
        if type_ in self._routes:
            raise ValueError(f"a handler for {type_!r} is already registered")
        self._routes[type_] = route

    def decode(self, message: AbstractIncomingMessage) -> Delivery | Rejection:
        headers = message.headers or {}
        route = self._routes.get(message.type or "")
        task_id = header_text(headers.get(HEADER_TASK_ID))
        if route is None:
            return Rejection(
                message, None, None, task_id, "unknown-type", f"unknown message type {message.type!r}"
            )
        try:
            envelope = route.envelope_model.model_validate_json(message.body)
        except ValidationError as exc:
            reason = f"invalid payload: {exc.error_count()} error(s): {exc.errors(include_url=False)}"
            return Rejection(message, route, None, task_id, "invalid-payload", reason)
        if route.kind == "task" and task_id is None:
            return Rejection(
                message, route, None, None, "invalid-payload", f"task message without {HEADER_TASK_ID} header"
            )
        returned = int(header_text(headers.get(HEADER_DELIVERY_COUNT)) or 0)
        if returned >= DELIVERY_LIMIT - 1:
            # The broker would dead-letter it at its next return, unrecorded: park it ourselves, with
            # a reason and on_parked, instead of handling it once more.
            reason = (
                f"returned to the queue unsettled {returned} times (a consumer crashed or lost its "
                "connection while handling it each time)"
            )
            return Rejection(message, route, envelope, task_id, "redelivered", reason)
        return Delivery(message, route, envelope, task_id)
