"""One error envelope for every service: {"code", "message", "details"}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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


def error_response(status: int, code: str, message: str, details: Any = None) -> web.Response:
    return web.json_response({"code": code, "message": message, "details": details}, status=status)


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
    except Exception:
        # A 500 is always a bug: log everything, answer nothing internal.
        log.exception("unhandled error", method=request.method, path=request.path)
        return error_response(
            500, "internal_error", "internal error; see the service logs for the request id"
        )
