"""The vrs-import worker: the import task and the outbox relay (run by `Worker`)."""

from __future__ import annotations

from typing import Any

import asyncpg

from quintet_messaging import Worker, WorkerOptions
from vrs_import import SERVICE
from vrs_import.keys import solver_client
from vrs_import.settings import Settings
from vrs_import.solver.client import SolverClient
from vrs_import.usecases.imports import IMPORT_TASK, ImportTask, fail_import, run_import


class ImportWorker(Worker):
    """The service's Worker, owning the process's one solver client (closed when the worker stops)."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, solver: SolverClient) -> None:
        # One import per transaction (batch_size=1): a batch would hold several companies' locks at
        # once, and two workers taking them in different orders could deadlock.
        super().__init__(
            SERVICE.name,
            pool,
            settings.amqp_url,
            schema=SERVICE.schema,
            max_attempts=settings.max_attempts,
            options=WorkerOptions(batch_size=1),
        )
        self.solver = solver

    async def stop(self) -> None:
        await super().stop()
        await self.solver.close()


def build_worker(settings: Settings, pool: asyncpg.Pool, s3: Any) -> Worker:
    solver = solver_client(settings)
    worker = ImportWorker(settings, pool, solver)

    async def import_solution(conn: asyncpg.Connection, task_id: str, payload: ImportTask) -> None:
        await run_import(conn, solver, payload.import_id, max_orders=settings.max_orders)

    worker.on_task(IMPORT_TASK, ImportTask, import_solution, on_parked=fail_import)
    return worker
