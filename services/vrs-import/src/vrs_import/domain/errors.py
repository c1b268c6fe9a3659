"""The service's exceptions. `str()` is what a client reads; `details` (when set) goes to the envelope."""

from __future__ import annotations

from typing import Any

# How many conflicting numbers a message quotes (details carry up to MAX_DETAILS of them).
MAX_QUOTED = 20
MAX_DETAILS = 1000


def quote_numbers(numbers: list[str]) -> str:
    shown = ", ".join(numbers[:MAX_QUOTED])
    more = len(numbers) - MAX_QUOTED
    return f"{shown} and {more} more" if more > 0 else shown


class VrsImportError(Exception):
    details: Any = None


class NotFound(VrsImportError):
    pass


class ImportNotFound(NotFound):
    def __init__(self, import_id: str) -> None:
        super().__init__(f"import {import_id} does not exist")


class ImportResultNotFound(NotFound):
    def __init__(self, import_id: str, status: str) -> None:
        super().__init__(f"import {import_id} has no result: its status is {status}")


class RouteNotFound(NotFound):
    def __init__(self, route_id: int) -> None:
        super().__init__(f"route {route_id} does not exist")


class OrderNotFound(NotFound):
    def __init__(self, order_id: int) -> None:
        super().__init__(f"order {order_id} does not exist")


class InvalidStatusTransition(VrsImportError):
    def __init__(self, number: str, current: str, wanted: str) -> None:
        super().__init__(f"order {number} cannot go from {current} to {wanted}")
        self.details = {"current": current, "wanted": wanted}


class TaskNotImportable(VrsImportError):
    """The solver's task cannot be imported (unknown, not solved, failed, empty or malformed): 422."""

    def __init__(self, task_id: str, reason: str) -> None:
        super().__init__(f"task {task_id} cannot be imported: {reason}")
        self.details = {"task_id": task_id, "reason": reason}


class SolverUnavailable(VrsImportError):
    """The solver did not answer usably within its timeout and retries: 503 at the api."""

    def __init__(self) -> None:
        super().__init__("the routing solver is unavailable, try again later")


class IdempotencyKeyReused(VrsImportError):
    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with another request body")


class ImportFailed(VrsImportError):
    """An import that ends `error`: nothing is written, the message names what collided."""

    def __init__(self, message: str, kind: str, numbers: list[str]) -> None:
        super().__init__(message)
        self.details = {"conflict": kind, "numbers": numbers[:MAX_DETAILS]}


class RouteConflict(ImportFailed):
    def __init__(self, numbers: list[str]) -> None:
        super().__init__(f"routes already exist: {quote_numbers(numbers)}", "routes", numbers)


class OrderConflict(ImportFailed):
    def __init__(self, numbers: list[str]) -> None:
        super().__init__(f"orders already exist: {quote_numbers(numbers)}", "orders", numbers)


class OrdersInProgress(ImportFailed):
    def __init__(self, numbers: list[str]) -> None:
        super().__init__(
            f"orders already started or finished cannot be moved: {quote_numbers(numbers)}",
            "orders_in_progress",
            numbers,
        )
