"""The console app: the development sign-in (on only with QUINTET_ENV=dev, bounded input) and the
static files it serves."""

from __future__ import annotations

import json

import pytest

from quintet_console import create_app
from quintet_runtime import PlatformSettings
from quintet_testing import api_client, expect_error
from quintet_web.auth import authenticate

SECRET = "console-test-secret-of-at-least-32-bytes"


def settings(env: str) -> PlatformSettings:
    return PlatformSettings(env=env, jwt_secret=SECRET)  # type: ignore[arg-type]


async def test_dev_sign_in_offers_the_scopes_of_the_services() -> None:
    async with api_client(create_app(settings("dev"))) as client:
        response = await client.get("/console/api/dev-token")
        assert response.status == 200
        scopes = (await response.json())["scopes"]
    assert {"segments:write", "goals:admin", "posm:write", "vrs:import", "mentorship:admin"} <= set(scopes)


async def test_dev_token_carries_the_scopes_and_claims_picked() -> None:
    body = {
        "scopes": ["segments:read", "vrs:import", "segments:read"],
        "sub": "анна",
        "companies": [7, 9],
        "park_id": "park1",
        "driver_id": "driver1",
    }
    async with api_client(create_app(settings("dev"))) as client:
        response = await client.post("/console/api/dev-token", json=body)
        assert response.status == 201, await response.text()
        answer = await response.json()
    principal = authenticate(f"Bearer {answer['token']}", SECRET)
    assert principal.scopes == {"segments:read", "vrs:import"}
    assert (principal.sub, principal.companies) == ("анна", (7, 9))
    assert (principal.park_id, principal.driver_id) == ("park1", "driver1")
    assert answer["scopes"] == ["segments:read", "vrs:import"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_dev_sign_in_does_not_exist_outside_development(method: str) -> None:
    async with api_client(create_app(settings("prod"))) as client:
        response = await client.request(method, "/console/api/dev-token", json={"scopes": ["segments:read"]})
        await expect_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["segments"]}, "scopes"),
        ({"scopes": ["Segments:Read"]}, "scopes"),
        ({"scopes": ["a:b"] * 21}, "scopes"),
        ({"scopes": "segments:read"}, "scopes"),
        ({"scopes": [], "sub": ""}, "sub"),
        ({"scopes": [], "sub": "x" * 129}, "sub"),
        ({"scopes": [], "sub": "a\x00b"}, "sub"),
        ({"scopes": [], "companies": [0]}, "companies.0"),
        ({"scopes": [], "companies": [2**40]}, "companies.0"),
        ({"scopes": [], "companies": list(range(1, 102))}, "companies"),
        ({"scopes": [], "park_id": "p" * 129}, "park_id"),
        ({"scopes": [], "driver_id": "\x00"}, "driver_id"),
        ({"scopes": [], "role": "admin"}, "role"),
        ({}, "scopes"),
    ],
)
async def test_dev_token_rejects_unbounded_or_malformed_input_naming_the_field(
    body: dict, field: str
) -> None:
    async with api_client(create_app(settings("dev"))) as client:
        response = await client.post("/console/api/dev-token", json=body)
        error = await expect_error(response, 400, "validation_error")
    assert field in [detail["field"] for detail in error["details"]], error


async def test_dev_token_refuses_a_body_over_16_kib() -> None:
    body = json.dumps({"scopes": [], "sub": "x" * 20_000})
    async with api_client(create_app(settings("dev"))) as client:
        response = await client.post(
            "/console/api/dev-token", data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status == 413


@pytest.mark.parametrize(
    ("path", "content_type", "text"),
    [
        ("/console/", "text/html", '<script type="importmap">'),
        ("/console/js/app.js", "javascript", "import"),
        ("/console/vendor/preact/preact.mjs", "javascript", "export"),
        ("/console/style.css", "text/css", "body"),
    ],
)
async def test_static_files_are_served_under_console(path: str, content_type: str, text: str) -> None:
    async with api_client(create_app(settings("dev"))) as client:
        response = await client.get(path)
        assert response.status == 200
        assert content_type in response.content_type  # ES modules need a JavaScript type
        assert response.headers["Cache-Control"] == "no-cache"
        assert text in await response.text()


async def test_console_without_slash_redirects_to_the_index() -> None:
    async with api_client(create_app(settings("dev"))) as client:
        response = await client.get("/console", allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (302, "/console/")


@pytest.mark.parametrize("path", ["/console/../app.py", "/console/%2e%2e/app.py", "/console/nope.js"])
async def test_nothing_outside_the_static_folder_is_served(path: str) -> None:
    async with api_client(create_app(settings("dev"))) as client:
        response = await client.get(path)
        assert response.status in {403, 404}
