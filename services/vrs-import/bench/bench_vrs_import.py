"""vrs-import benchmark: POST to `completed` for a solution of 10,000 orders in 500 routes into a
company holding 10,000 orders of which 5,000 collide (routes `rename_new`: all 500 collide; orders
`move_existing`). Baseline in the same run: the same import where the worker writes a statement per
order. The api, the worker and the stand-in solver run in this process against a fresh database and
RabbitMQ vhost (created and dropped here).

    uv run python services/vrs-import/bench/bench_vrs_import.py
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
import uuid
from typing import Any

import aiohttp
import asyncpg
import structlog
from aiohttp.test_utils import TestServer

from quintet_runtime import DEV_JWT_SECRET
from quintet_service import worker_resources
from quintet_stand_ins.app import create_app as create_stand_ins
from quintet_testing.infra import DEFAULT_AMQP_URL, DatabaseFactory, VirtualHost
from quintet_web import mint_token
from vrs_import import SERVICE
from vrs_import.domain.conflicts import OrderConflictMode, RouteConflictMode
from vrs_import.domain.orders import OrderStatus
from vrs_import.domain.solution import Solution
from vrs_import.usecases import imports

SERVICE_APPLY = imports.apply_solution  # the baseline patches the module's name; this stays the real one
PG_DSN = os.environ.get("QUINTET_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("QUINTET_AMQP_URL", DEFAULT_AMQP_URL)
ROUTES, PER_ROUTE = int(os.environ.get("BENCH_ROUTES", "500")), 20
ORDERS = ROUTES * PER_ROUTE
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DAY = "2026-12-02"
GOAL_S = 2.0


def solver_result(numbers: list[str]) -> dict[str, Any]:
    depot = {"id": "main", "point": {"lat": 55.75, "lon": 37.6}, "time_window": "07:00-20:00"}
    routes = []
    for r in range(ROUTES):
        nodes: list[dict[str, Any]] = [{"node": {"type": "depot", "value": depot}, "arrival_time_s": 25200}]
        for k in range(PER_ROUTE):
            number = numbers[r * PER_ROUTE + k]
            location = {
                "id": number,
                "point": {"lat": 55.7 + k / 1000, "lon": 37.5 + r / 1000},
                "time_window": "08:00-18:00",
                "service_duration_s": 300,
                "description": f"street {number}",
            }
            nodes.append({"node": {"type": "location", "value": location}, "arrival_time_s": 28800 + 600 * k})
        routes.append({"vehicle_id": f"v{r}", "run_number": 1, "route": nodes})
    return {"solver_status": "SOLVED", "routes": routes, "options": {"date": DAY, "time_zone": 3}}


async def apply_statement_per_order(
    conn: asyncpg.Connection,
    import_id: uuid.UUID,
    company_id: int,
    solution: Solution,
    route_mode: RouteConflictMode,
    order_mode: OrderConflictMode,
    order_status: OrderStatus,
) -> imports.Applied:
    """The baseline: the same plan, routes and depots, but one INSERT or UPDATE per order."""
    held = {
        r["number"]: r["id"]
        for r in await conn.fetch(
            "SELECT id, number FROM orders WHERE company_id = $1 AND number = ANY($2::text[])",
            company_id,
            [o.number for route in solution.routes for o in route.orders],
        )
    }
    # Plan and write the routes as the service does, with no orders in the solution...
    empty = Solution(
        tuple(type(r)(r.number, r.date, r.vehicle, r.run_number, r.depot, ()) for r in solution.routes)
    )
    applied = await SERVICE_APPLY(conn, import_id, company_id, empty, route_mode, order_mode, order_status)
    route_ids = dict(zip([n for _, n in applied.routes], [i for i, _ in applied.routes], strict=True))
    numbers = [n for _, n in applied.routes]
    created = moved = 0
    # ...then every order with its own statement.
    for route, number in zip(solution.routes, numbers, strict=True):
        for sequence, order in enumerate(route.orders, start=1):
            window = order.time_window
            args = (
                order.address,
                order.lat,
                order.lon,
                window[0] if window else None,
                window[1] if window else None,
                order.service_duration_s,
                route_ids[number],
                sequence,
                order.planned_arrival,
            )
            if order.number in held:
                await conn.execute(
                    """
                    UPDATE orders SET address = $2, lat = $3, lon = $4, time_window = tstzrange($5, $6, '[]'),
                        service_duration_s = $7, route_id = $8, sequence = $9, planned_arrival = $10,
                        updated_at = now()
                    WHERE id = $1
                    """,
                    held[order.number],
                    *args,
                )
                moved += 1
            else:
                await conn.execute(
                    """
                    INSERT INTO orders (company_id, status, number, address, lat, lon, time_window,
                                        service_duration_s, route_id, sequence, planned_arrival)
                    VALUES ($1, $2, $3, $4, $5, $6, tstzrange($7, $8, '[]'), $9, $10, $11, $12)
                    """,
                    company_id,
                    order_status,
                    order.number,
                    *args,
                )
                created += 1
    return imports.Applied(applied.routes, created, 0, moved)


async def import_until_done(
    http: aiohttp.ClientSession, api: str, company: int, task_id: str, modes: tuple[str, str]
) -> tuple[float, dict[str, Any]]:
    token = mint_token(DEV_JWT_SECRET, sub="bench", scope="vrs:import", companies=[company])
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "task_id": task_id,
        "order_status": "new",
        "route_conflict_mode": modes[0],
        "order_conflict_mode": modes[1],
    }
    started = time.perf_counter()
    async with http.post(
        f"{api}/api/v1/companies/{company}/vrs-import", json=body, headers=headers
    ) as response:
        assert response.status == 202, await response.text()
        import_id = (await response.json())["id"]
    deadline = started + 300
    while time.perf_counter() < deadline:
        async with http.get(
            f"{api}/api/v1/companies/{company}/vrs-import/{import_id}", headers=headers
        ) as response:
            state = await response.json()
        if state["status"] != "running":
            return time.perf_counter() - started, state
        await asyncio.sleep(0.01)
    raise TimeoutError(f"import {import_id} still running after 300 s")


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    databases = DatabaseFactory(PG_DSN)
    vhost = VirtualHost(AMQP_URL)
    dsn = await databases.migrated(SERVICE.schema, SERVICE.migration_sources)
    stand_ins = TestServer(create_stand_ins())
    await stand_ins.start_server()
    solver_url = str(stand_ins.make_url("")).rstrip("/")
    settings: Any = SERVICE.load_settings(
        pg_dsn=dsn, amqp_url=vhost.create(), solver_url=solver_url, max_attempts=1
    )
    api = TestServer(SERVICE.create_app(settings))
    await api.start_server()
    api_url = str(api.make_url("")).rstrip("/")
    try:
        async with worker_resources(settings, SERVICE.schema) as (pool, s3), aiohttp.ClientSession() as http:
            worker = SERVICE.build_worker(settings, pool, s3)
            running = asyncio.ensure_future(worker.run())
            print("# worker started", flush=True)

            async def solved(numbers: list[str]) -> str:
                async with http.post(
                    f"{solver_url}/_stand-in/solver/solved", json={"result": solver_result(numbers)}
                ) as r:
                    return str((await r.json())["id"])

            try:
                held = [f"o{i}" for i in range(ORDERS)]
                incoming = held[: ORDERS // 2] + [f"n{i}" for i in range(ORDERS // 2)]
                modes = ("rename_new", "move_existing")
                ours: list[float] = []
                baseline: list[float] = []
                for run in range(RUNS):
                    for kind, timings in (("set-based", ours), ("per-order", baseline)):
                        company = 100 + run * 2 + (kind == "per-order")
                        _, arranged = await import_until_done(
                            http, api_url, company, await solved(held), ("no_conflict", "no_conflict")
                        )
                        assert arranged["status"] == "completed", arranged
                        task_id = await solved(incoming)
                        apply = SERVICE_APPLY if kind == "set-based" else apply_statement_per_order
                        imports.apply_solution = apply  # type: ignore[assignment]
                        try:
                            seconds, state = await import_until_done(http, api_url, company, task_id, modes)
                        finally:
                            imports.apply_solution = SERVICE_APPLY  # type: ignore[assignment]
                        assert state["status"] == "completed", state
                        moved = await pool.fetchval(
                            "SELECT count(*) FROM orders o JOIN routes r ON r.id = o.route_id"
                            " WHERE o.company_id = $1 AND r.number LIKE '%-1'",
                            company,
                        )
                        assert moved == ORDERS, (kind, moved)
                        timings.append(seconds)
                        print(f"# run {run + 1} {kind}: {seconds:.3f} s", flush=True)
            finally:
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
        value, base = statistics.median(ours), statistics.median(baseline)
        print(
            f"# {ORDERS:,} orders in {ROUTES} routes into a company holding {ORDERS:,}"
            f" ({ORDERS // 2:,} collide),"
            f" routes rename_new (all collide), orders move_existing; POST to completed through the api,"
            f" worker and stand-in solver in one process; median of {RUNS} runs; goal <= {GOAL_S} s"
        )
        print(f"BENCH vrs-import-10k {value:.2f} s baseline={base:.2f} ratio={base / value:.2f}")
    finally:
        await api.close()
        await stand_ins.close()
        vhost.delete()
        await databases.drop_all()


if __name__ == "__main__":
    asyncio.run(main())
