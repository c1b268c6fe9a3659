"""Domain exception -> (status, error code): the one table the api answers errors from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from posm.domain.errors import (
    GenerationNotFound,
    GenerationNotReady,
    IdempotencyKeyReused,
    InvalidInput,
    NothingToGenerate,
    PlaceNotFound,
    PosmError,
    TableNotInGeneration,
    TableOfAnotherPlace,
    TemplateNotAllowed,
    TemplateNotFound,
)
from quintet_web.errors import error_response

ERRORS: dict[type[PosmError], tuple[int, str]] = {
    InvalidInput: (400, "validation_error"),
    PlaceNotFound: (404, "place_not_found"),
    TemplateNotFound: (404, "template_not_found"),
    GenerationNotFound: (404, "generation_not_found"),
    TableNotInGeneration: (404, "table_not_found"),
    GenerationNotReady: (409, "generation_not_ready"),
    TableOfAnotherPlace: (409, "table_of_another_place"),
    TemplateNotAllowed: (422, "template_not_allowed"),
    NothingToGenerate: (422, "nothing_to_generate"),
    IdempotencyKeyReused: (422, "idempotency_key_reused"),
}


def _lookup(exc: PosmError) -> tuple[int, str] | None:
    for kind in type(exc).__mro__:
        if kind in ERRORS:
            return ERRORS[kind]  # type: ignore[index]
    return None


@web.middleware
async def domain_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except PosmError as exc:
        mapped = _lookup(exc)
        if mapped is None:
            raise
        return error_response(mapped[0], mapped[1], str(exc), exc.details)
