"""structlog configuration and the request id carried by every log line.

The request id lives in structlog's context variables: the web middleware binds it per request, the
message consumer binds it per message, and the outbox writer reads it from there, so one id follows
a change from the HTTP call through every event it causes.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid

import structlog


def configure_logging(service: str, *, json: bool, level: str = "INFO") -> None:
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if json:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors += [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")


def new_request_id() -> str:
    return uuid.uuid4().hex


# What an incoming id may look like to be kept (a UUID, the gateway's hex id, a caller's trace id).
# Anything else (too long for an AMQP short string, bytes that are not ASCII, header-unsafe
# characters) is replaced by a fresh id rather than carried into logs, responses and messages.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def bind_request_id(request_id: str | None) -> str:
    """Bind the request id to the context (log lines, published messages); a missing or malformed
    incoming id is replaced by a new one. Returns the id bound."""
    if not request_id or not REQUEST_ID_PATTERN.fullmatch(request_id):
        request_id = new_request_id()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id


def current_request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value is not None else None
