"""The posm worker: renders generations (posm-requested), schedules them, applies retention."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any

import asyncpg

from posm import SCHEMA, SERVICE
from posm.settings import Settings
from posm.usecases import production
from quintet_contracts import Envelope
from quintet_contracts.posm import POSM_REQUESTED, PosmRequested
from quintet_messaging import Worker
from quintet_s3 import ObjectStore
from quintet_service import worker_resources


def render_pool(settings: Settings) -> ProcessPoolExecutor:
    # Rendering is CPU work: processes keep the event loop (and the relay, the consumers) free.
    # Spawned, not forked: a fork of a process running an event loop and threads is unsafe.
    processes = settings.render_processes or os.cpu_count() or 1
    return ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"))


def build_worker(settings: Settings, pool: asyncpg.Pool, s3: Any, executor: ProcessPoolExecutor) -> Worker:
    # One delivery per transaction (a slice is seconds of work; a batch would make generations wait
    # for each other and fail together), as many at once as generations may run.
    worker = Worker(
        SERVICE,
        pool,
        settings.amqp_url,
        schema=SCHEMA,
        max_attempts=settings.max_attempts,
        batch_size=1,
        concurrency=settings.max_concurrent_generations,
        prefetch=settings.max_concurrent_generations,
    )
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


async def run_worker(settings: Settings) -> None:
    with render_pool(settings) as executor:
        async with worker_resources(settings, SCHEMA, buckets=[settings.bucket]) as (pool, s3):
            await build_worker(settings, pool, s3, executor).run()
