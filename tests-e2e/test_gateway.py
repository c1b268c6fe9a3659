"""The gateway as a client meets it: bodies up to the services' limit, JSON errors of its own, no ops
endpoints, no identity headers from clients, one access-log line per request, the front door.

Two setups: the `stack` (started as `make run` does) and a `lone_gateway`, the same rendered nginx
config in front of upstreams this module plays (an echo app, a hanging app, a port that refuses, a
server that answers garbage), for what the real services cannot be made to do on demand.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from stack_services import ALL_SERVICES, ROOT, prepare_run_dir, present_services, render_gateway

from quintet_testing import eventually, free_port
from quintet_testing.http import bearer

KNOWN = [s.name for s in ALL_SERVICES]
PRESENT = [s.name for s in present_services()]
BODY_LIMIT = 16 * 1024**2
SEGMENTS_WRITE = bearer("segments:read segments:write", sub="gateway-e2e")


async def _json_error(response: aiohttp.ClientResponse, status: int, code: str) -> dict:
    text = await response.text()
    assert response.status == status, f"expected {status}, got {response.status}: {text}"
    assert response.content_type == "application/json", text
    body = await response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    return body


# --- through the stack -------------------------------------------------------------------------


async def test_a_body_larger_than_16_kb_reaches_the_service(stack):
    body = {"user_ids": list(range(9_000_001, 9_003_001))}  # 2,000 ids, about 18 KB of JSON
    async with (
        aiohttp.ClientSession(headers=SEGMENTS_WRITE) as http,
        http.post(f"{stack.gateway}/segments/api/v1/users", json=body) as response,
    ):
        assert response.status == 200, await response.text()


async def test_a_body_over_the_services_limit_is_a_json_413(stack):
    async with (
        aiohttp.ClientSession(headers=SEGMENTS_WRITE) as http,
        http.post(
            f"{stack.gateway}/segments/api/v1/users",
            data=b" " * (BODY_LIMIT + 1),
            headers={"Content-Type": "application/json"},
        ) as response,
    ):
        body = await _json_error(response, 413, "payload_too_large")
        assert body["details"] == {"limit_bytes": BODY_LIMIT}


@pytest.mark.parametrize("path", ["/foo/health", "/foo", "/segmentsx/health", "/index.html/x"])
async def test_an_unknown_path_is_a_json_404_naming_the_services(stack, path):
    async with aiohttp.ClientSession() as http, http.get(f"{stack.gateway}{path}") as response:
        body = await _json_error(response, 404, "not_found")
    assert body["details"] == {"services": [f"/{name}/" for name in KNOWN]}
    assert all(f"/{name}/" in body["message"] for name in KNOWN), body["message"]


@pytest.mark.parametrize("service", PRESENT)
@pytest.mark.parametrize("endpoint", ["ready", "metrics", "ready/", "%72eady", "./metrics", "metrics?x=1"])
async def test_ops_endpoints_are_not_reachable_through_the_gateway(stack, service, endpoint):
    async with aiohttp.ClientSession() as http:
        url = f"{stack.gateway}/{service}/{endpoint}"
        async with http.get(url, allow_redirects=False) as response:
            await _json_error(response, 404, "not_found")


@pytest.mark.parametrize("service", PRESENT)
@pytest.mark.parametrize("endpoint", ["ready", "metrics"])
async def test_services_still_serve_ops_endpoints_directly(stack, service, endpoint):
    port = next(s for s in present_services() if s.name == service).env_prefix + "PORT"
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{stack.env[port]}/{endpoint}") as response,
    ):
        assert response.status == 200, await response.text()


async def test_links_ignore_forwarded_headers_a_client_sends(stack):
    headers = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "gopher", "X-Forwarded-Prefix": "/x"}
    async with (
        aiohttp.ClientSession(headers=SEGMENTS_WRITE) as http,
        http.get(
            f"{stack.gateway}/segments/api/v1/segments/user/1001/csv",
            params={"period": "2026-01"},
            headers=headers,
        ) as response,
    ):
        assert response.status == 202, await response.text()
        link = (await response.json())["link"]
    assert link.startswith(f"{stack.gateway}/segments/api/v1/reports/"), link


async def test_each_request_is_one_access_log_line_with_its_request_id_and_upstream_time(stack):
    request_id = f"e2e-access-{uuid.uuid4().hex}"
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.gateway}/segments/health", headers={"X-Request-Id": request_id}) as response,
    ):
        assert response.status == 200
        assert response.headers["X-Request-Id"] == request_id

    def lines() -> list[str]:
        return [line for line in stack.log.read_text().splitlines() if request_id in line]

    [line] = await eventually(lines)
    assert "GET /segments/health" in line and " 200 " in line, line
    assert re.search(r"upstream_time=\d+\.\d+", line), line


async def test_a_request_id_the_service_would_refuse_is_replaced_at_the_gateway(stack):
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.gateway}/segments/health", headers={"X-Request-Id": "bad id!"}) as response,
    ):
        minted = response.headers["X-Request-Id"]
    assert minted != "bad id!" and re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", minted)


async def test_the_front_door_lists_the_services_and_serves_what_it_references(stack):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.gateway}/") as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            page = await response.text()
        assets = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert "console/" in assets, "the front door links to the admin console"
        for asset in assets:
            async with http.get(f"{stack.gateway}/{asset.lstrip('/')}") as response:
                assert response.status == 200, asset
        async with http.get(f"{stack.gateway}/version.json") as response:
            assert response.status == 200
            version = await response.json()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert version == {"version": project["version"], "services": KNOWN}


@pytest.mark.parametrize("service", PRESENT)
async def test_docs_load_swagger_ui_5_through_the_gateway(stack, service):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.gateway}/{service}/docs") as response:
            assert response.status == 200
            page = await response.text()
        assets = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert {"docs/static/swagger-ui-bundle.js", "docs/static/swagger-ui.css"} <= set(assets), assets
        for asset in assets:
            async with http.get(f"{stack.gateway}/{service}/{asset}") as response:
                assert response.status == 200, asset
                if asset.endswith(".js"):
                    assert '"5.' in await response.text()


# --- a lone gateway in front of upstreams played here -------------------------------------------


@dataclass(frozen=True)
class LoneGateway:
    url: str


async def _echo(request: web.Request) -> web.Response:
    return web.json_response({"path": request.path_qs, "headers": dict(request.headers)})


async def _hang(request: web.Request) -> web.Response:
    await asyncio.Event().wait()  # never answers: the gateway's read timeout must fire
    raise AssertionError("unreachable")


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nnot a header line\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.fixture(scope="module")
async def upstreams() -> AsyncIterator[dict[str, str]]:
    app = web.Application()
    app.router.add_get("/echo", _echo)
    app.router.add_post("/echo", _echo)
    app.router.add_get("/hang", _hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    app_port, garbage_port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", app_port).start()
    garbage = await asyncio.start_server(_garbage, "127.0.0.1", garbage_port)
    try:
        yield {
            "segments": f"127.0.0.1:{app_port}",
            "personal-goals": f"127.0.0.1:{free_port()}",  # nothing listens: refused
            "vrs-import": f"127.0.0.1:{garbage_port}",
        }
    finally:
        garbage.close()
        await runner.cleanup()


@pytest.fixture(scope="module")
def lone_gateway(upstreams: dict[str, str]) -> Iterator[LoneGateway]:
    from run_local import ensure_nginx, wait_http

    port = free_port()
    run_dir = Path(tempfile.mkdtemp(prefix="quintet-gateway-test-"))
    prepare_run_dir(run_dir)
    (run_dir / "nginx.conf").write_text(
        render_gateway(str(run_dir), f"127.0.0.1:{port}", upstreams, read_timeout="1s")
    )
    nginx = subprocess.Popen(
        [ensure_nginx(), "-p", str(run_dir), "-c", str(run_dir / "nginx.conf")],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 10, nginx)
        yield LoneGateway(url=f"http://127.0.0.1:{port}")
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        shutil.rmtree(run_dir)


IDENTITY_HEADERS = ["X-Yandex-UID", "X-User-Id", "X-Forwarded-User", "X-Quintet-User", "X-Quintet-Scopes"]


@pytest.mark.parametrize("header", IDENTITY_HEADERS)
async def test_identity_headers_from_clients_never_reach_a_service(lone_gateway, header):
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{lone_gateway.url}/segments/echo", headers={header: "42"}) as response,
    ):
        received = (await response.json())["headers"]
    assert header.lower() not in {name.lower() for name in received}, received


async def test_the_gateway_sets_the_forwarded_headers_itself(lone_gateway):
    sent = {
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "gopher",
        "X-Forwarded-Prefix": "/evil",
        "X-Forwarded-For": "6.6.6.6",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{lone_gateway.url}/segments/echo?x=1", headers=sent) as response,
    ):
        echoed = await response.json()
    received = echoed["headers"]
    assert echoed["path"] == "/echo?x=1"
    assert received["X-Forwarded-Host"] == lone_gateway.url.removeprefix("http://")
    assert received["X-Forwarded-Proto"] == "http"
    assert received["X-Forwarded-Prefix"] == "/segments"
    assert received["X-Forwarded-For"] == "127.0.0.1"


@pytest.mark.parametrize(
    "header", ["Authorization", "Content-Type", "Accept", "Idempotency-Key", "If-None-Match", "Range"]
)
async def test_request_headers_services_use_are_passed(lone_gateway, header):
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{lone_gateway.url}/segments/echo", data=b"{}", headers={header: "kept"}) as response,
    ):
        received = (await response.json())["headers"]
    assert received.get(header) == "kept", received


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/personal-goals/health", "personal-goals"),  # routed, but nothing listens
        ("/posm/health", "posm"),  # known, not routed at all
        ("/contractor-mentorship/", "contractor-mentorship"),
    ],
)
async def test_a_service_that_is_not_running_is_a_json_503(lone_gateway, path, service):
    async with aiohttp.ClientSession() as http, http.get(f"{lone_gateway.url}{path}") as response:
        body = await _json_error(response, 503, "service_not_started")
    assert body["details"] == {"service": service}


async def test_an_upstream_answering_garbage_is_a_json_502(lone_gateway):
    async with aiohttp.ClientSession() as http, http.get(f"{lone_gateway.url}/vrs-import/x") as response:
        await _json_error(response, 502, "bad_gateway")


async def test_an_upstream_that_does_not_answer_in_time_is_a_json_504(lone_gateway):
    async with aiohttp.ClientSession() as http, http.get(f"{lone_gateway.url}/segments/hang") as response:
        await _json_error(response, 504, "gateway_timeout")


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("POST", "/", {}, 405, "method_not_allowed"),
        ("GET", "/segments/echo", {"X-Big": "x" * 20_000}, 400, "bad_request"),
        ("GET", "/segments/" + "x" * 20_000, {}, 414, "uri_too_long"),
    ],
)
async def test_requests_the_gateway_refuses_get_a_json_error(
    lone_gateway, method, path, headers, status, code
):
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{lone_gateway.url}{path}", headers=headers) as response,
    ):
        await _json_error(response, status, code)
