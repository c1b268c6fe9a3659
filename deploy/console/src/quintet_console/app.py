"""The console app: static files (ES modules, no build step) under /console/ and the development
sign-in. The console talks to the services through the gateway with the token the person signed in
with; this app holds no state and proxies nothing."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from quintet_runtime import PlatformSettings
from quintet_web import NotFound, RouteTable, create_base_app, mint_token

STATIC = Path(__file__).resolve().parent / "static"
SETTINGS = web.AppKey("console_settings", PlatformSettings)

# The scopes the services check, offered as checkboxes by the development sign-in.
KNOWN_SCOPES = (
    "segments:read",
    "segments:write",
    "goals:admin",
    "goals:read",
    "mentorship:admin",
    "vrs:read",
    "vrs:write",
    "vrs:import",
    "posm:read",
    "posm:write",
)
TOKEN_TTL_SECONDS = 12 * 3600
SCOPE_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,31}:[a-z][a-z0-9_.-]{0,31}")

BoundedText = Annotated[str, Field(min_length=1, max_length=128)]


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class DevTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[str] = Field(max_length=len(KNOWN_SCOPES) * 2)
    sub: BoundedText = "developer"
    companies: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default_factory=list, max_length=100)
    park_id: BoundedText | None = None
    driver_id: BoundedText | None = None

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, scopes: list[str]) -> list[str]:
        for scope in scopes:
            if not SCOPE_PATTERN.fullmatch(scope):
                raise ValueError(f"{scope[:80]!r} is not a scope (service:permission)")
        return sorted(set(scopes))

    _text = field_validator("sub", "park_id", "driver_id")(_no_nul)


class DevToken(BaseModel):
    token: str
    scopes: list[str]
    sub: str
    expires_in: int


class DevSignIn(BaseModel):
    scopes: list[str]


routes = RouteTable("console")


def _dev_only(request: web.Request) -> PlatformSettings:
    settings = request.app[SETTINGS]
    if settings.env != "dev":
        # Outside development the endpoint does not exist: a token comes from the identity provider.
        raise NotFound(f"no route for {request.method} {request.path}")
    return settings


@routes.get(
    "/console/api/dev-token",
    summary="Development sign-in: whether it is on (404 outside QUINTET_ENV=dev) and the scopes it offers",
    response=DevSignIn,
    errors=(404,),
)
async def dev_sign_in(request: web.Request) -> DevSignIn:
    _dev_only(request)
    return DevSignIn(scopes=list(KNOWN_SCOPES))


@routes.post(
    "/console/api/dev-token",
    summary="Development sign-in: a token with the scopes picked (only with QUINTET_ENV=dev)",
    body=DevTokenRequest,
    response=DevToken,
    status=201,
    errors=(400, 404),
)
async def dev_token(request: web.Request, *, body: DevTokenRequest) -> DevToken:
    settings = _dev_only(request)
    token = mint_token(
        settings.jwt_secret,
        sub=body.sub,
        scope=" ".join(body.scopes),
        ttl_seconds=TOKEN_TTL_SECONDS,
        companies=body.companies,
        park_id=body.park_id,
        driver_id=body.driver_id,
    )
    return DevToken(token=token, scopes=body.scopes, sub=body.sub, expires_in=TOKEN_TTL_SECONDS)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def _to_index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")


@web.middleware
async def _no_stale_modules(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    # No build step means no hashed file names: make the browser revalidate every module.
    response = await handler(request)
    if request.path.startswith("/console/") and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-cache"
    return response


def create_app(settings: PlatformSettings) -> web.Application:
    app = create_base_app(
        "console", jwt_secret=settings.jwt_secret, routes=[routes], readiness={}, client_max_size=16 * 1024
    )
    app.middlewares.append(_no_stale_modules)
    app[SETTINGS] = settings
    app.router.add_get("/console", _to_index)
    app.router.add_get("/console/", _index)
    app.router.add_static("/console/", STATIC, follow_symlinks=False)
    return app
