"""The vrs-import worker: the import task and the outbox relay (run by `Worker`)."""

from __future__ import annotations

from typing import Any

import asyncpg

from quintet_messaging import Worker
from quintet_service import worker_resources
from vrs_import import SCHEMA, SERVICE
from vrs_import.app import solver_client
from vrs_import.settings import Settings
from vrs_import.solver.client import SolverClient
from vrs_import.usecases.imports import IMPORT_TASK, ImportTask, fail_import, run_import


def build_worker(settings: Settings, pool: asyncpg.Pool, solver: SolverClient) -> Worker:
    # One import per transaction (batch_size=1): a batch would hold several companies' locks at
    # once, and two workers taking them in different orders could deadlock.
    worker = Worker(
        SERVICE, pool, settings.amqp_url, schema=SCHEMA, max_attempts=settings.max_attempts, batch_size=1
    )

    async def import_solution(conn: asyncpg.Connection, task_id: str, payload: ImportTask) -> None:
        await run_import(conn, solver, payload.import_id, max_orders=settings.max_orders)

    worker.on_task(IMPORT_TASK, ImportTask, import_solution, on_parked=fail_import)
    return worker


async def run_worker(settings: Settings) -> None:
    solver = solver_client(settings)
    try:
        async with worker_resources(settings, SCHEMA) as (pool, _s3):
            await build_worker(settings, pool, solver).run()
    finally:
        await solver.close()


__all__: list[Any] = ["build_worker", "run_worker"]
