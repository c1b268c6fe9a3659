"""The web edge over real HTTP: error envelope, auth, request ids, health, metrics, OpenAPI."""

import asyncio
import time
from types import SimpleNamespace

import jwt
import pytest
from aiohttp import web
from pydantic import BaseModel, Field

from quintet_testing.http import DEV_JWT_SECRET, api_client, bearer, expect, expect_error
from quintet_web import NotFound, RouteTable, absolute_url, create_base_app


class WidgetIn(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    size: int = Field(ge=1)


class Widget(BaseModel):
    id: int
    name: str
    size: int


class WidgetPath(BaseModel):
    widget_id: int = Field(gt=0)


class Paging(BaseModel):
    limit: int = Field(10, ge=1, le=100)


routes = RouteTable("widgets")


@routes.post(
    "/widgets", summary="Create a widget", scope="widgets:write", body=WidgetIn, response=Widget, status=201
)
async def create_widget(request: web.Request, *, body: WidgetIn) -> Widget:
    return Widget(id=1, **body.model_dump())


@routes.get(
    "/widgets/{widget_id}",
    summary="Read a widget",
    scope=("widgets:read", "widgets:write"),
    path_params=WidgetPath,
    query=Paging,
    response=Widget,
    errors=(404,),
)
async def read_widget(request: web.Request, *, path: WidgetPath, query: Paging) -> Widget:
    if path.widget_id == 404:
        raise NotFound(f"widget {path.widget_id} not found", code="widget_not_found")
    return Widget(id=path.widget_id, name="w", size=query.limit)


@routes.get("/link", summary="A link through the gateway")
async def link(request: web.Request) -> dict[str, str]:
    return {"link": absolute_url(request, "/widgets/1")}


@routes.get("/slow", summary="Slower than its timeout", timeout=0.05)
async def slow(request: web.Request) -> None:
    await asyncio.Event().wait()  # never set: only the route's timeout ends it


@routes.get("/boom", summary="A bug")
async def boom(request: web.Request) -> None:
    raise RuntimeError("secret internals")


async def broken_check() -> None:
    raise ConnectionError("db down")


async def ok_check() -> None:
    return None


@pytest.fixture
async def client():
    app = create_base_app(
        "widgets", jwt_secret=DEV_JWT_SECRET, routes=[routes], readiness={"database": ok_check}
    )
    async with api_client(app) as client:
        yield client


WRITE = bearer("widgets:write")


def _token(claims: dict[str, object]) -> dict[str, str]:
    return {"Authorization": "Bearer " + jwt.encode(claims, DEV_JWT_SECRET)}


async def test_valid_request_is_parsed_and_answered_with_the_response_model(client):
    response = await client.post("/widgets", json={"name": "a", "size": 2}, headers=WRITE)
    assert await expect(response, 201, Widget) == Widget(id=1, name="a", size=2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "size": 1}, "name"),
        ({"name": "a", "size": 0}, "size"),
        ({"name": "a"}, "size"),
        ({"name": "a", "size": "big"}, "size"),
    ],
)
async def test_invalid_body_is_a_400_naming_the_field(client, body, field):
    error = await expect_error(
        await client.post("/widgets", json=body, headers=WRITE), 400, "validation_error"
    )
    assert [d["field"] for d in error["details"]] == [field]
    assert field in error["message"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"", "missing_body"),
        (b"[1]", "validation_error"),
        (b"[" * 200_000, "invalid_json"),  # nested past the parser's recursion limit
    ],
)
async def test_malformed_body_is_a_400(client, raw, code):
    response = await client.post("/widgets", data=raw, headers={**WRITE, "Content-Type": "application/json"})
    await expect_error(response, 400, code)


async def test_a_scalar_query_parameter_given_twice_is_a_400_naming_it(client):
    response = await client.get("/widgets/1?limit=5&limit=7", headers=WRITE)
    body = await expect_error(response, 400, "validation_error")
    assert body["details"][0]["field"] == "limit"


async def test_invalid_path_and_query_are_400s_naming_the_parameter(client):
    error = await expect_error(await client.get("/widgets/abc", headers=WRITE), 400, "validation_error")
    assert error["details"][0]["field"] == "widget_id"
    error = await expect_error(await client.get("/widgets/1?limit=0", headers=WRITE), 400, "validation_error")
    assert error["details"][0]["field"] == "limit"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_token"),
        ({"Authorization": "Basic abc"}, 401, "invalid_token"),
        ({"Authorization": "Bearer not.a.jwt"}, 401, "invalid_token"),
        (
            {
                "Authorization": "Bearer "
                + jwt.encode({"sub": "x", "exp": 1, "scope": "widgets:read"}, DEV_JWT_SECRET)
            },
            401,
            "token_expired",
        ),
        (bearer("widgets:read", secret="another-secret-that-is-long-enough-for-hs256"), 401, "invalid_token"),
        (bearer("widgets:read"), 403, "missing_scope"),
        ({"Authorization": "Bearer é.é.é"}, 401, "invalid_token"),
        (bearer("widgets:write", companies=["x"]), 401, "invalid_token"),
        (bearer("widgets:write", companies=[True]), 401, "invalid_token"),
        (bearer("widgets:write", companies=[1.5]), 401, "invalid_token"),
        (bearer("widgets:write", park_id={"a": 1}), 401, "invalid_token"),
        (bearer("widgets:write", driver_id=7), 401, "invalid_token"),
        (
            _token({"sub": "x", "exp": str(int(time.time()) + 600), "scope": "widgets:write"}),
            401,
            "invalid_token",
        ),
        (_token({"sub": "x", "exp": 1e12, "scope": "widgets:write"}), 401, "invalid_token"),
        (_token({"sub": 7, "exp": int(time.time()) + 600, "scope": "widgets:write"}), 401, "invalid_token"),
        (_token({"sub": "", "exp": int(time.time()) + 600, "scope": "widgets:write"}), 401, "invalid_token"),
        (
            _token({"sub": "x" * 257, "exp": int(time.time()) + 600, "scope": "widgets:write"}),
            401,
            "invalid_token",
        ),
    ],
)
async def test_auth_failures(client, headers, status, code):
    await expect_error(
        await client.post("/widgets", json={"name": "a", "size": 1}, headers=headers), status, code
    )


async def test_any_of_the_route_scopes_is_enough(client):
    response = await client.get("/widgets/3", headers=bearer("widgets:read"))
    assert (await expect(response, 200, Widget)).id == 3


async def test_domain_error_keeps_its_code(client):
    await expect_error(await client.get("/widgets/404", headers=WRITE), 404, "widget_not_found")


async def test_unknown_route_and_method_get_the_envelope(client):
    await expect_error(await client.get("/nope"), 404, "not_found")
    await expect_error(await client.delete("/widgets", headers=WRITE), 405, "method_not_allowed")


async def test_a_handler_past_its_timeout_answers_503_with_retry_after(client):
    response = await client.get("/slow")
    await expect_error(response, 503, "timeout")
    assert response.headers["Retry-After"] == "1"


async def test_unexpected_error_is_an_opaque_500(client):
    error = await expect_error(await client.get("/boom"), 500, "internal_error")
    assert "secret" not in error["message"]


async def test_request_id_is_echoed_or_generated(client):
    response = await client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    response = await client.get("/health")
    assert len(response.headers["X-Request-Id"]) == 32


@pytest.mark.parametrize("incoming", ["r" * 129, "a b", "a\tb", "<script>", "é"])
async def test_a_malformed_request_id_is_replaced_by_a_new_one(client, incoming):
    """An id too long for an AMQP short string, or with characters unsafe in headers and logs, is
    not carried into the logs, the response or published messages."""
    response = await client.get("/health", headers={"X-Request-Id": incoming})
    assert response.status == 200
    replaced = response.headers["X-Request-Id"]
    assert replaced != incoming and len(replaced) == 32


async def _raw_request(client, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(request)
        await writer.drain()
        return await reader.read(65536)
    finally:
        writer.close()


async def test_non_utf8_bytes_in_auth_and_request_id_headers_are_4xx_not_500(client):
    body = b'{"name": "a", "size": 1}'
    answer = await _raw_request(
        client,
        b"POST /widgets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff.\xff.\xff\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n" + body,
    )
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"invalid_token"' in answer
    answer = await _raw_request(
        client, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: ab\xffcd\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b"X-Request-Id: ab" not in answer


async def test_absolute_links_follow_the_gateway_headers(client):
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "gw.example",
        "X-Forwarded-Prefix": "/widgets-svc",
    }
    body = await (await client.get("/link", headers=headers)).json()
    assert body["link"] == "https://gw.example/widgets-svc/widgets/1"


async def test_health_ready_and_metrics(client):
    assert (await (await client.get("/health")).json())["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status == 200 and (await ready.json())["checks"] == {"database": "ok"}
    await client.post("/widgets", json={"name": "a", "size": 1}, headers=WRITE)
    metrics = await (await client.get("/metrics")).text()
    assert 'http_requests_total{method="POST",route="/widgets",status="201"}' in metrics


async def test_ready_is_503_when_a_dependency_fails():
    app = create_base_app("w", jwt_secret=DEV_JWT_SECRET, routes=[], readiness={"database": broken_check})
    async with api_client(app) as client:
        response = await client.get("/ready")
        assert response.status == 503
        assert (await response.json())["checks"] == {"database": "failed"}  # no exception text


async def test_openapi_describes_routes_models_scopes_and_errors(client):
    spec = await (await client.get("/openapi.json")).json()
    create = spec["paths"]["/widgets"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WidgetIn"
    }
    assert set(create["responses"]) == {"201", "400", "401", "403"}
    assert "widgets:write" in create["description"]
    read = spec["paths"]["/widgets/{widget_id}"]["get"]
    assert {(p["name"], p["in"]) for p in read["parameters"]} == {("widget_id", "path"), ("limit", "query")}
    assert "Widget" in spec["components"]["schemas"]
    assert {"/health", "/ready", "/metrics"} <= set(spec["paths"])
    assert set(spec["paths"]["/ready"]["get"]["responses"]) == {"200", "503"}
    docs = await client.get("/docs")
    assert docs.status == 200 and "swagger-ui" in await docs.text()
    assert (await client.get("/docs/static/swagger-ui-bundle.js")).status == 200


def test_expired_cached_token_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    from quintet_web import auth
    from quintet_web.errors import Unauthorized

    expires = int(time.time()) + 60
    token = jwt.encode({"sub": "x", "exp": expires, "scope": "a"}, DEV_JWT_SECRET)
    assert auth.authenticate(f"Bearer {token}", DEV_JWT_SECRET).sub == "x"  # decoded and cached
    # The clock passes the expiry: the cached principal must not outlive its token.
    monkeypatch.setattr(auth, "time", SimpleNamespace(time=lambda: expires + 1))
    with pytest.raises(Unauthorized) as raised:
        auth.authenticate(f"Bearer {token}", DEV_JWT_SECRET)
    assert raised.value.code == "token_expired"
