"""The posm worker: renders generations (posm-requested), schedules them, applies retention."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import timedelta
from typing import Any

import asyncpg

from posm import SERVICE, rendering
from posm.settings import Settings
from posm.usecases import production
from quintet_contracts import Envelope
from quintet_contracts.posm import POSM_REQUESTED, PosmRequested
from quintet_messaging import Worker, WorkerOptions
from quintet_s3 import ObjectStore


def render_processes(settings: Settings) -> int:
    return settings.render_processes or os.cpu_count() or 1


def render_pool(settings: Settings) -> ProcessPoolExecutor:
    # Rendering is CPU work: processes keep the event loop (and the relay, the consumers) free.
    # Spawned, not forked: a fork of a process running an event loop and threads is unsafe.
    return ProcessPoolExecutor(
        max_workers=render_processes(settings), mp_context=multiprocessing.get_context("spawn")
    )


async def start_processes(executor: Executor, processes: int) -> None:
    """Start the pool's processes now: a process pool spawns them on first use, and a spawned
    process imports the rendering code (seconds) before it renders anything. One call per process,
    all submitted before any returns, so the pool starts them all."""
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(executor, rendering.ready) for _ in range(processes)))


class RenderingWorker(Worker):
    """The messaging worker that also runs the rendering processes: started with it, so the first
    generation does not wait for them, and shut down when it stops (unless shared: tests)."""

    executor: ProcessPoolExecutor | None = None  # owned by the worker
    rendering: tuple[Executor, int] | None = None  # the pool the renderer uses, and its processes

    async def start(self) -> None:
        if self.rendering is not None:
            await start_processes(*self.rendering)
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        if self.executor is not None:
            # Waits for the processes to exit (a render in progress finishes its chunk): none outlives
            # the worker.
            executor, self.executor = self.executor, None
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)


def build_worker(
    settings: Settings, pool: asyncpg.Pool, s3: Any, executor: ProcessPoolExecutor | None = None
) -> Worker:
    """The worker; it starts its own rendering processes unless given a pool of them (tests share one)."""
    # One delivery per transaction (a slice is seconds of work; a batch would make generations wait
    # for each other and fail together), as many at once as generations may run.
    worker = RenderingWorker(
        SERVICE.name,
        pool,
        settings.amqp_url,
        schema=SERVICE.schema,
        max_attempts=settings.max_attempts,
        options=WorkerOptions(
            batch_size=1,
            concurrency=settings.max_concurrent_generations,
            prefetch=settings.max_concurrent_generations,
        ),
    )
    if executor is None:
        executor = worker.executor = render_pool(settings)
    worker.rendering = (executor, render_processes(settings))
    store = ObjectStore(s3)
    renderer = production.Renderer(
        store=store,
        bucket=settings.bucket,
        executor=executor,
        url_template=settings.qr_url_template,
        slice_size=settings.render_slice,
        upload_concurrency=settings.upload_concurrency,
    )

    async def render(conn: asyncpg.Connection, envelope: Envelope[PosmRequested]) -> None:
        generation_id = envelope.payload.generation_id
        await production.start_generation(pool, generation_id)
        try:
            await production.render_slice(conn, renderer, generation_id)
        except Exception as exc:
            await production.record_failure(pool, generation_id, exc)
            raise

    async def give_up(conn: asyncpg.Connection, envelope: Envelope[PosmRequested], reason: str) -> None:
        await production.give_up(conn, envelope.payload.generation_id, settings.max_attempts)

    async def schedule(pool: asyncpg.Pool) -> None:
        await production.schedule_generations(pool, settings.max_concurrent_generations)

    async def retention(pool: asyncpg.Pool) -> None:
        await production.apply_retention(
            pool, store, settings.bucket, settings.keep_generations, timedelta(days=settings.keep_days)
        )

    worker.on_event(POSM_REQUESTED, render, on_parked=give_up)
    worker.every("schedule-generations", timedelta(seconds=settings.scheduler_period_seconds), schedule)
    worker.every("retention", timedelta(seconds=settings.retention_period_seconds), retention)
    return worker
