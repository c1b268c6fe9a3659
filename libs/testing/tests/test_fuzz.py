"""The fuzz harness finds what it promises to find, and passes an api that conforms."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel, Field

from quintet_testing.fuzz import FuzzReport, Operation, operations_of, run_auth_matrix, run_schemathesis
from quintet_testing.http import DEV_JWT_SECRET, api_client
from quintet_web import Conflict, RouteTable, create_base_app, mint_token

READ = "things:read"
WRITE = "things:write"


class ThingPath(BaseModel):
    number: int = Field(ge=1, le=1_000_000)


class Thing(BaseModel):
    number: int
    name: str


class NewThing(BaseModel):
    name: str = Field(min_length=1, max_length=20)


def conforming_routes() -> RouteTable:
    routes = RouteTable("things")

    @routes.get("/things/{number}", summary="a thing", scope=READ, path_params=ThingPath, response=Thing)
    async def get_thing(request: web.Request, *, path: ThingPath) -> Thing:
        return Thing(number=path.number, name="thing")

    @routes.post("/things", summary="new thing", scope=WRITE, body=NewThing, response=Thing, status=201)
    async def create_thing(request: web.Request, *, body: NewThing) -> Thing:
        return Thing(number=1, name=body.name)

    return routes


def broken_routes(defect: str) -> RouteTable:
    routes = RouteTable("things")

    @routes.get("/things/{number}", summary="a thing", scope=READ, path_params=ThingPath, response=Thing)
    async def get_thing(request: web.Request, *, path: ThingPath) -> Any:
        if defect == "server error" and path.number > 10:
            raise RuntimeError("a bug")
        if defect == "undocumented status":
            raise Conflict("not declared", code="conflict")
        if defect == "body violates its schema":
            return web.json_response({"number": "one"})
        return Thing(number=path.number, name="thing")

    return routes


async def fuzz(routes: RouteTable, max_examples: int = 30) -> FuzzReport:
    app = create_base_app("things", jwt_secret=DEV_JWT_SECRET, routes=[routes], readiness={})
    token = mint_token(DEV_JWT_SECRET, sub="fuzz", scope=f"{READ} {WRITE}")
    async with api_client(app) as client:
        document = await (await client.get("/openapi.json")).json()
        return await asyncio.to_thread(
            run_schemathesis,
            str(client.make_url("")).rstrip("/"),
            document,
            {"Authorization": f"Bearer {token}"},
            max_examples=max_examples,
        )


async def test_an_api_that_conforms_to_its_openapi_passes() -> None:
    report = await fuzz(conforming_routes())
    assert report.examples > 0
    report.assert_clean()


@pytest.mark.parametrize(
    ("defect", "finding"),
    [
        ("server error", "Server error"),
        ("undocumented status", "Undocumented status code"),
        ("body violates its schema", "Response violates schema"),
    ],
)
async def test_the_fuzzer_reports_what_breaks_the_contract(defect: str, finding: str) -> None:
    report = await fuzz(broken_routes(defect))
    failures = report.failures.get("GET /things/{number} (positive)", [])
    assert any(finding in failure for failure in failures), report.failures
    with pytest.raises(AssertionError, match="GET /things/"):
        report.assert_clean()


async def matrix(app_routes: RouteTable, operations: list[Operation], secret: str) -> FuzzReport:
    app = create_base_app("things", jwt_secret=secret, routes=[app_routes], readiness={})
    async with api_client(app) as client:
        document = await (await client.get("/openapi.json")).json()
        return await asyncio.to_thread(
            run_auth_matrix, str(client.make_url("")).rstrip("/"), document, operations, DEV_JWT_SECRET, {}
        )


async def test_the_auth_matrix_passes_the_platform_auth() -> None:
    routes = conforming_routes()
    report = await matrix(routes, operations_of(type("Service", (), {"routes": routes})), DEV_JWT_SECRET)
    assert report.examples == 2 * 8  # two operations, eight refused tokens each (two scopes)
    report.assert_clean()


async def test_the_auth_matrix_reports_an_operation_open_without_its_scope() -> None:
    open_routes = RouteTable("things")

    @open_routes.get("/things/{number}", summary="a thing", path_params=ThingPath, response=Thing)
    async def get_thing(request: web.Request, *, path: ThingPath) -> Thing:
        return Thing(number=path.number, name="thing")

    report = await matrix(open_routes, [Operation("GET", "/things/{number}", (READ,))], DEV_JWT_SECRET)
    assert any("no token: expected 401, got 200" in f for f in report.failures["GET /things/{number}"])
