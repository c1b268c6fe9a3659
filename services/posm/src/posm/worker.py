"""The posm worker: renders generations (posm-requested), schedules them, applies retention."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any

import asyncpg

from posm import SERVICE
from posm.settings import Settings
from posm.usecases import production
from quintet_contracts import Envelope
from quintet_contracts.posm import POSM_REQUESTED, PosmRequested
from quintet_messaging import Worker
from quintet_s3 import ObjectStore


def render_pool(settings: Settings) -> ProcessPoolExecutor:
    # Rendering is CPU work: processes keep the event loop (and the relay, the consumers) free.
    # Spawned, not forked: a fork of a process running an event loop and threads is unsafe.
    processes = settings.render_processes or os.cpu_count() or 1
    return ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"))


class RenderingWorker(Worker):
    """The messaging worker that also owns the rendering processes (shut down when it stops)."""

    executor: ProcessPoolExecutor | None = None

    async def stop(self) -> None:
        await super().stop()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None


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
        batch_size=1,
        concurrency=settings.max_concurrent_generations,
        prefetch=settings.max_concurrent_generations,
    )
    if executor is None:
        executor = worker.executor = render_pool(settings)
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
