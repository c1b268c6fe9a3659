"""The service's exceptions and the status and error code each one answers."""

from __future__ import annotations

from quintet_web import ErrorMapping, ErrorTable
from vrs_import.domain.errors import (
    IdempotencyKeyReused,
    ImportNotFound,
    ImportResultNotFound,
    InvalidStatusTransition,
    OrderNotFound,
    RouteNotFound,
    SolverUnavailable,
    TaskNotImportable,
)

ERRORS = ErrorTable(
    {
        ImportNotFound: (404, "import_not_found"),
        ImportResultNotFound: (404, "import_result_not_found"),
        RouteNotFound: (404, "route_not_found"),
        OrderNotFound: (404, "order_not_found"),
        InvalidStatusTransition: (409, "invalid_status_transition"),
        TaskNotImportable: (422, "task_not_importable"),
        IdempotencyKeyReused: (422, "idempotency_key_reused"),
        SolverUnavailable: ErrorMapping(503, "solver_unavailable", retry_after=5),
    }
)
