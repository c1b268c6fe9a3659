"""Routes declared once with their models: the same declaration parses requests, checks the scope,
serialises responses and generates the OpenAPI document."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from quintet_web.auth import Principal, authenticate
from quintet_web.errors import BadRequest, Forbidden, validation_error_response
from quintet_web.keys import JWT_SECRET, SERVICE_NAME

Handler = Callable[..., Awaitable[Any]]
# A handler still running after this long answers 503 (quintet_web.errors: TimeoutError) and frees
# what it holds; no client waits on a stuck upstream or lock forever.
DEFAULT_HANDLER_TIMEOUT = 30.0


@dataclass
class RouteSpec:
    method: str
    path: str
    handler: Handler
    summary: str
    scope: tuple[str, ...]
    body: type[BaseModel] | Any | None
    query: type[BaseModel] | None
    path_params: type[BaseModel] | None
    response: Any
    status: int
    response_content_type: str = "application/json"
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    timeout: float | None = None
    body_adapter: TypeAdapter[Any] | None = field(default=None, repr=False)
    response_adapter: TypeAdapter[Any] | None = field(default=None, repr=False)


# The base URL clients use (QUINTET_PUBLIC_URL, PlatformSettings.public_url), set on the app when configured.
PUBLIC_URL = web.AppKey("public_url", str)


def absolute_url(request: web.Request, path: str) -> str:
    """A URL clients can follow to `path` of this service.

    From the configured public URL (the gateway's) when there is one: `<public url>/<service><path>`.
    Otherwise from the X-Forwarded-Host/Proto/Prefix headers the gateway sets (it overwrites any a
    client sends), otherwise from the address this server listens on. Never from the Host header
    alone: a client chooses it, and a link built on it would send the next caller to any host.
    """
    public_url = request.config_dict.get(PUBLIC_URL)
    if public_url:
        return f"{public_url.rstrip('/')}/{request.config_dict[SERVICE_NAME]}{path}"
    forwarded_host = request.headers.get("X-Forwarded-Host")
    if forwarded_host:
        proto = request.headers.get("X-Forwarded-Proto", "http")
        prefix = request.headers.get("X-Forwarded-Prefix", "").rstrip("/")
        return f"{proto}://{forwarded_host}{prefix}{path}"
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return path
    host, port = sockname[0], sockname[1]
    return f"{request.scheme}://{f'[{host}]' if ':' in host else host}:{port}{path}"


class RouteTable:
    """Collects a service's routes; `register(app)` adds them to an aiohttp app."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[RouteSpec] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        scope: str | tuple[str, ...] | None = None,
        body: Any = None,
        query: type[BaseModel] | None = None,
        path_params: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        response_content_type: str = "application/json",
        errors: tuple[int, ...] = (),
        description: str = "",
        timeout: float | None = DEFAULT_HANDLER_TIMEOUT,
    ) -> Callable[[Handler], Handler]:
        """Declare a route. `timeout`: seconds the handler may take before the client gets a 503
        (None for a handler that streams its answer for as long as the client reads)."""

        def decorate(handler: Handler) -> Handler:
            scopes = (scope,) if isinstance(scope, str) else tuple(scope or ())
            self.routes.append(
                RouteSpec(
                    method=method.upper(),
                    path=path,
                    handler=handler,
                    summary=summary,
                    scope=scopes,
                    body=body,
                    query=query,
                    path_params=path_params,
                    response=response,
                    status=status,
                    response_content_type=response_content_type,
                    errors=errors,
                    timeout=timeout,
                    tags=(self.tag,),
                    description=description or (inspect.getdoc(handler) or ""),
                    body_adapter=TypeAdapter(body) if body is not None else None,
                    response_adapter=TypeAdapter(response) if response is not None else None,
                )
            )
            return handler

        return decorate

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)

    def register(self, app: web.Application) -> None:
        for spec in self.routes:
            app.router.add_route(spec.method, spec.path, _wrap(spec))


def _query_values(request: web.Request) -> dict[str, Any]:
    """A parameter given once is its value; given more than once, the list of its values, so a scalar
    field refuses it (400 naming it) instead of silently keeping the first one."""
    values: dict[str, Any] = {}
    for key in request.query:
        if key not in values:
            many = request.query.getall(key)
            values[key] = many[0] if len(many) == 1 else many
    return values


def _wrap(spec: RouteSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    wanted = set(inspect.signature(spec.handler).parameters)

    async def endpoint(request: web.Request) -> web.StreamResponse:
        kwargs: dict[str, Any] = {}
        if spec.scope:
            principal = authenticate(request.headers.get("Authorization"), request.config_dict[JWT_SECRET])
            if not principal.scopes.intersection(spec.scope):
                needed = " or ".join(spec.scope)
                raise Forbidden(
                    f"token lacks scope {needed}", code="missing_scope", details={"scope": needed}
                )
            if "principal" in wanted:
                kwargs["principal"] = principal
        try:
            if spec.path_params is not None:
                kwargs["path"] = spec.path_params.model_validate(dict(request.match_info))
        except ValidationError as exc:
            return validation_error_response(exc, "path")
        try:
            if spec.query is not None:
                kwargs["query"] = spec.query.model_validate(_query_values(request))
        except ValidationError as exc:
            return validation_error_response(exc, "query")
        if spec.body_adapter is not None:
            raw = await request.read()
            if not raw:
                raise BadRequest("request body is required (JSON)", code="missing_body")
            try:
                document = json.loads(raw)
            except ValueError as exc:
                raise BadRequest(f"request body is not valid JSON: {exc}", code="invalid_json") from exc
            except RecursionError as exc:
                raise BadRequest("request body is nested too deeply", code="invalid_json") from exc
            try:
                kwargs["body"] = spec.body_adapter.validate_python(document)
            except ValidationError as exc:
                return validation_error_response(exc, "body")
        async with asyncio.timeout(spec.timeout):
            result = await spec.handler(request, **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        if spec.status == 204 or result is None:
            return web.Response(status=spec.status if spec.status == 204 else 200)
        adapter = spec.response_adapter or TypeAdapter(type(result))
        return web.Response(
            body=adapter.dump_json(result, by_alias=True), status=spec.status, content_type="application/json"
        )

    endpoint.__name__ = spec.handler.__name__
    return endpoint


__all__ = ["PUBLIC_URL", "Principal", "RouteSpec", "RouteTable", "absolute_url"]
