"""An order's statuses and which changes between them the edit API allows."""

from __future__ import annotations

from enum import StrEnum

from vrs_import.domain.errors import InvalidStatusTransition


class OrderStatus(StrEnum):
    NEW = "new"
    CONFIRMED = "confirmed"
    STARTED = "started"
    FINISHED = "finished"
    CANCELLED = "cancelled"


# A courier's day: confirmed before it starts, finished once started; cancelling is possible until
# the order is finished, and a cancelled order can be reopened as new.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset({OrderStatus.CONFIRMED, OrderStatus.STARTED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.NEW, OrderStatus.STARTED, OrderStatus.CANCELLED}),
    OrderStatus.STARTED: frozenset({OrderStatus.FINISHED, OrderStatus.CANCELLED}),
    OrderStatus.FINISHED: frozenset(),
    OrderStatus.CANCELLED: frozenset({OrderStatus.NEW}),
}

# An order in one of these is under way or done: an import never moves it, and its route has started.
IN_PROGRESS = frozenset({OrderStatus.STARTED, OrderStatus.FINISHED})


def check_transition(number: str, current: OrderStatus, wanted: OrderStatus) -> None:
    if wanted != current and wanted not in TRANSITIONS[current]:
        raise InvalidStatusTransition(number, current, wanted)
