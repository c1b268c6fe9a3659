"""One error envelope for every service: {"code", "message", "details"}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

log = structlog.get_logger(__name__)


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


@dataclass(frozen=True)
class ErrorMapping:
    """How one exception class is answered. `message=None` answers the exception's `str()`; a fixed
    message is for exceptions whose text is not for clients (timeouts, driver errors)."""

    status: int
    code: str
    message: str | None = None
    retry_after: int | None = None


class ErrorTable:
    """A service's one table from its domain exceptions to statuses and error codes.

    Handlers never catch to translate: the error middleware answers any exception in the table (or a
    subclass of one) with its status and code, the exception's `str()` as the message and its
    optional `details` attribute as the details. Built from `{ExceptionClass: (status, code)}` or
    `{ExceptionClass: ErrorMapping(...)}`.
    """

    def __init__(self, mappings: Mapping[type[BaseException], tuple[int, str] | ErrorMapping]) -> None:
        self._mappings = {
            exc: value if isinstance(value, ErrorMapping) else ErrorMapping(*value)
            for exc, value in mappings.items()
        }

    def __or__(self, other: ErrorTable) -> ErrorTable:
        return ErrorTable({**self._mappings, **other._mappings})

    def __len__(self) -> int:
        return len(self._mappings)

    def lookup(self, exc: BaseException) -> ErrorMapping | None:
        for cls in type(exc).__mro__:
            if cls in self._mappings:
                return self._mappings[cls]
        return None

    def statuses(self) -> set[int]:
        return {mapping.status for mapping in self._mappings.values()}


# What every service answers alike: a wait that ran out is the server being busy, not a bug.
PLATFORM_ERRORS = ErrorTable(
    {TimeoutError: ErrorMapping(503, "timeout", "the service is busy; retry shortly", retry_after=1)}
)
ERROR_TABLE = web.AppKey("quintet_error_table", ErrorTable)


def error_response(status: int, code: str, message: str, details: Any = None) -> web.Response:
    return web.json_response({"code": code, "message": message, "details": details}, status=status)


def _mapped_response(mapping: ErrorMapping, exc: BaseException) -> web.Response:
    message = mapping.message if mapping.message is not None else str(exc)
    details = getattr(exc, "details", None) if mapping.message is None else None
    response = error_response(mapping.status, mapping.code, message, details)
    if mapping.retry_after is not None:
        response.headers["Retry-After"] = str(mapping.retry_after)
    return response


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_error_response(exc: ValidationError, where: str) -> web.Response:
    errors = [
        {"field": _field_name(err["loc"]), "message": err["msg"], "type": err["type"]} for err in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    return error_response(400, "validation_error", f"invalid {where}: {summary}", errors)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status, "http_error"
        )
        message = exc.reason if exc.status != 404 else f"no route for {request.method} {request.path}"
        response = error_response(exc.status, code, message)
        for header in ("Allow",):
            if header in exc.headers:
                response.headers[header] = exc.headers[header]
        return response
    except Exception as exc:
        mapping = request.config_dict.get(ERROR_TABLE, PLATFORM_ERRORS).lookup(exc)
        if mapping is not None:
            if mapping.status >= 500:
                log.warning("request failed", error_code=mapping.code, exc_type=type(exc).__name__)
            return _mapped_response(mapping, exc)
        # A 500 is always a bug: log everything, answer nothing internal.
        log.exception("unhandled error", method=request.method, path=request.path)
        return error_response(
            500, "internal_error", "internal error; see the service logs for the request id"
        )
