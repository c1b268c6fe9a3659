"""Helpers for testing a service's api over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import TypeAdapter

T = TypeVar("T")

DEV_JWT_SECRET = "quintet-dev-secret-do-not-use-in-production"


@asynccontextmanager
async def api_client(app: web.Application) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The app served on a real local port (its cleanup contexts run), with a client for it."""
    async with TestClient(TestServer(app)) as client:
        yield client


def bearer(scope: str, *, sub: str = "tester", secret: str = DEV_JWT_SECRET, **claims: Any) -> dict[str, str]:
    """Authorization header with a token carrying `scope` (space-separated scopes)."""
    from quintet_web import mint_token

    return {"Authorization": f"Bearer {mint_token(secret, sub=sub, scope=scope, **claims)}"}


async def expect(response: Any, status: int, model: Any = None) -> Any:
    """Assert the status (showing the body when it differs) and validate the body against `model`."""
    text = await response.text()
    assert response.status == status, f"expected {status}, got {response.status}: {text}"
    if model is None:
        return text
    return TypeAdapter(model).validate_json(text)


async def expect_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an error envelope with this status (and machine code, when given)."""
    body = await response.json()
    assert response.status == status, f"expected {status}, got {response.status}: {body}"
    assert set(body) == {"code", "message", "details"}, body
    if code is not None:
        assert body["code"] == code, body
    return dict(body)
