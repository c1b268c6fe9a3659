"""Links in responses: from QUINTET_PUBLIC_URL when set, else from the gateway's X-Forwarded-* headers,
else from the address the server listens on; never from the Host header a client sends."""

import pytest
from aiohttp import web

from quintet_testing.http import DEV_JWT_SECRET, api_client
from quintet_web import RouteTable, absolute_url, create_base_app
from quintet_web.routes import PUBLIC_URL

routes = RouteTable("links")


@routes.get("/link", summary="A link to a report")
async def link(request: web.Request) -> dict[str, str]:
    return {"link": absolute_url(request, "/reports/1")}


def _app(public_url: str | None = None) -> web.Application:
    app = create_base_app("links-svc", jwt_secret=DEV_JWT_SECRET, routes=[routes], readiness={})
    if public_url is not None:
        app[PUBLIC_URL] = public_url
    return app


FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "gw.example",
    "X-Forwarded-Prefix": "/links-svc",
}


@pytest.mark.parametrize(
    ("public_url", "headers", "expected"),
    [
        ("https://quintet.example", {}, "https://quintet.example/links-svc/reports/1"),
        ("https://quintet.example/", FORWARDED, "https://quintet.example/links-svc/reports/1"),
        (
            "https://quintet.example/base",
            {"Host": "evil.example"},
            "https://quintet.example/base/links-svc/reports/1",
        ),
        (None, FORWARDED, "https://gw.example/links-svc/reports/1"),
        (None, {"X-Forwarded-Host": "gw.example:8080"}, "http://gw.example:8080/reports/1"),
    ],
)
async def test_links_follow_the_public_url_then_the_gateway(public_url, headers, expected):
    async with api_client(_app(public_url)) as client:
        body = await (await client.get("/link", headers=headers)).json()
    assert body["link"] == expected


@pytest.mark.parametrize(
    "headers", [{"Host": "evil.example"}, {"Host": "evil.example", "X-Forwarded-Proto": "https"}]
)
async def test_a_client_host_header_alone_never_makes_a_link(headers):
    async with api_client(_app()) as client:
        body = await (await client.get("/link", headers=headers)).json()
        assert body["link"] == f"http://127.0.0.1:{client.server.port}/reports/1"
