"""Reading and editing routes and orders, and the auth matrix of every endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from quintet_testing import bearer, expect, expect_error
from vrs_import.api.models import Order, RouteDetail, RouteSummary

DAY = "2026-12-02"
TASK = "0123abcd"
IMPORT = "00000000-0000-0000-0000-000000000000"

ENDPOINTS = [
    ("GET", "/api/v1/companies/{c}/routes?date=2026-12-02", None, "vrs:read"),
    ("GET", "/api/v1/companies/{c}/routes/1", None, "vrs:read"),
    ("GET", "/api/v1/companies/{c}/orders?number=1", None, "vrs:read"),
    ("PATCH", "/api/v1/companies/{c}/orders/1", {"status": "confirmed"}, "vrs:write"),
    ("GET", f"/api/v1/companies/{{c}}/vrs-import/conflicts?task_id={TASK}", None, "vrs:import"),
    (
        "POST",
        "/api/v1/companies/{c}/vrs-import",
        {
            "task_id": TASK,
            "order_status": "new",
            "route_conflict_mode": "rename_new",
            "order_conflict_mode": "rename_new",
        },
        "vrs:import",
    ),
    ("GET", f"/api/v1/companies/{{c}}/vrs-import/{IMPORT}", None, "vrs:import"),
    ("GET", f"/api/v1/companies/{{c}}/vrs-import/{IMPORT}/result", None, "vrs:import"),
]
OTHER_SCOPE = {
    "vrs:read": "vrs:write vrs:import",
    "vrs:write": "vrs:read vrs:import",
    "vrs:import": "vrs:read vrs:write",
}


async def call(
    client: Any, method: str, path: str, payload: Any, headers: dict[str, str], company: int = 1
) -> Any:
    return await client.request(method, path.format(c=company), json=payload, headers=headers)


@pytest.mark.parametrize(("method", "path", "payload", "scope"), ENDPOINTS)
async def test_without_a_token_every_endpoint_answers_401(
    client: Any, method: str, path: str, payload: Any, scope: str
) -> None:
    await expect_error(await call(client, method, path, payload, {}), 401)


@pytest.mark.parametrize(("method", "path", "payload", "scope"), ENDPOINTS)
async def test_without_its_scope_every_endpoint_answers_403(
    client: Any, method: str, path: str, payload: Any, scope: str
) -> None:
    headers = bearer(OTHER_SCOPE[scope], companies=[1])
    await expect_error(await call(client, method, path, payload, headers), 403, "missing_scope")


@pytest.mark.parametrize("companies", [[], [2, 3]])
@pytest.mark.parametrize(("method", "path", "payload", "scope"), ENDPOINTS)
async def test_a_company_missing_from_the_token_answers_403(
    client: Any, method: str, path: str, payload: Any, scope: str, companies: list[int]
) -> None:
    headers = bearer(scope, companies=companies)
    await expect_error(await call(client, method, path, payload, headers), 403, "company_forbidden")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/companies/0/routes?date=2026-12-02", "company_id"),
        ("/api/v1/companies/99999999999999999999/routes?date=2026-12-02", "company_id"),
        ("/api/v1/companies/1/routes?date=2026-13-40", "date"),
        ("/api/v1/companies/1/routes", "date"),
        ("/api/v1/companies/1/routes?date=2026-12-02&per_page=1001", "per_page"),
        ("/api/v1/companies/1/routes/0", "route_id"),
        ("/api/v1/companies/1/orders?number=a%00b", "number"),
        ("/api/v1/companies/1/vrs-import/conflicts?task_id=a%00b", "task_id"),
    ],
)
async def test_bad_parameters_answer_400_naming_them(client: Any, vrs: Any, path: str, field: str) -> None:
    error = await expect_error(await client.get(path, headers=vrs.token()), 400, "validation_error")
    assert field in [d["field"] for d in error["details"]]


@pytest.mark.usefixtures("worker")
async def test_routes_of_a_date_with_their_orders_in_sequence(vrs: Any) -> None:
    await vrs.run(vrs.result(("van", 1, ["c", "a", "b"]), ("truck", 1, ["d"])))
    await vrs.set_status("a", "started")
    response = await vrs.client.get("/api/v1/companies/1/routes", params={"date": DAY}, headers=vrs.token())
    summaries = await expect(response, 200, list[RouteSummary])
    assert [(r.number, r.orders, r.started, r.depot) for r in summaries] == [
        (f"truck-1-{DAY}", 1, False, "main"),
        (f"van-1-{DAY}", 3, True, "main"),
    ]
    van = await expect(
        await vrs.client.get(f"/api/v1/companies/1/routes/{summaries[1].id}", headers=vrs.token()),
        200,
        RouteDetail,
    )
    assert [(o.number, o.sequence) for o in van.orders] == [("c", 1), ("a", 2), ("b", 3)]
    arrivals = [o.planned_arrival for o in van.orders]
    assert arrivals == sorted(arrivals)
    empty = await vrs.client.get(
        "/api/v1/companies/1/routes", params={"date": "2026-12-03"}, headers=vrs.token()
    )
    assert await expect(empty, 200, list[RouteSummary]) == []


@pytest.mark.usefixtures("worker")
async def test_another_companys_routes_and_orders_are_not_found(vrs: Any) -> None:
    await vrs.run(vrs.result(("van", 1, ["a"])))
    order = await vrs.order("a")
    for path in (f"routes/{order['route_id']}", f"orders/{order['id']}"):
        method = "GET" if path.startswith("routes") else "PATCH"
        payload = {"status": "confirmed"} if method == "PATCH" else None
        response = await vrs.client.request(
            method, f"/api/v1/companies/2/{path}", json=payload, headers=vrs.token()
        )
        assert response.status == 404, await response.text()
    listed = await vrs.client.get("/api/v1/companies/2/orders", params={"number": "a"}, headers=vrs.token())
    assert await expect(listed, 200, list[Order]) == []


@pytest.mark.parametrize(
    ("path", "wanted", "status"),
    [
        ((), "confirmed", 200),
        ((), "started", 200),
        ((), "finished", 409),
        (("started",), "finished", 200),
        (("started",), "new", 409),
        (("started", "finished"), "cancelled", 409),
        (("cancelled",), "new", 200),
        (("confirmed",), "confirmed", 200),
    ],
)
@pytest.mark.usefixtures("worker")
async def test_order_status_changes_follow_the_transition_table(
    vrs: Any, path: tuple[str, ...], wanted: str, status: int
) -> None:
    await vrs.run(vrs.result(("van", 1, ["a"])))
    await vrs.set_status("a", *path)
    order = await vrs.order("a")
    response = await vrs.client.patch(
        f"/api/v1/companies/1/orders/{order['id']}", json={"status": wanted}, headers=vrs.token()
    )
    if status == 200:
        assert (await expect(response, 200, Order)).status == wanted
    else:
        await expect_error(response, status, "invalid_status_transition")
