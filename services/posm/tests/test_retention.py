"""Retention: N generations per (place, template), none older than K days, but the last done one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg

from posm.settings import Settings
from posm.usecases.production import apply_retention
from quintet_contracts.posm import GENERATION_STATUS_CHANGED
from quintet_s3 import ObjectStore, s3_client


async def test_retention_deletes_rows_and_objects_beyond_n_and_k_but_keeps_the_last_done(
    put_place: Any, create_template: Any, request_generation: Any, db: asyncpg.Pool, settings: Settings
) -> None:
    place_id, _ = await put_place(count=2)
    template = await create_template()
    ids = [(await (await request_generation(place_id, template["id"])).json())["id"] for _ in range(5)]
    # oldest to newest: done 40 days ago (the last done one: kept), error 20 days ago (older than K),
    # and three recent ones of which the oldest is beyond N=2 ... but it is still being worked on.
    layout = [("done", 40), ("error", 20), ("in-progress", 1), ("error", 1), ("error", 0)]
    for generation_id, (status, days) in zip(ids, layout, strict=True):
        await db.execute(
            """
            UPDATE generations SET status = $2, created_at = now() - $3::interval + generation_id * interval '1 s'
            WHERE generation_id = $1
            """,
            generation_id,
            status,
            timedelta(days=days),
        )
        await db.execute(
            "UPDATE generation_tables SET object_key = $2 || generation_id || '/' || table_id || '.pdf' "
            "WHERE generation_id = $1",
            generation_id,
            f"posm/{place_id}/",
        )
    async with s3_client(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key) as s3:
        store = ObjectStore(s3)
        await store.ensure_bucket(settings.bucket)
        keys = [r["object_key"] for r in await db.fetch("SELECT object_key FROM generation_tables")]
        for key in keys:
            await store.put(settings.bucket, key, b"%PDF-1.4", "application/pdf")

        removed = await apply_retention(db, store, settings.bucket, keep=2, keep_for=timedelta(days=10))

        left = {o.key for o in await store.list(settings.bucket, f"posm/{place_id}/")}
    assert removed == 1
    statuses = dict(await db.fetch("SELECT generation_id, status FROM generations"))
    assert [statuses[i] for i in ids] == ["done", "deleted", "in-progress", "error", "error"]
    assert left == {k for k in keys if not k.startswith(f"posm/{place_id}/{ids[1]}/")}
    events = await db.fetch("SELECT body FROM outbox WHERE message_type = $1", GENERATION_STATUS_CHANGED.type)
    deleted = [GENERATION_STATUS_CHANGED.parse(e["body"]).payload for e in events]
    assert [(p.generation_id, p.status) for p in deleted if p.status == "deleted"] == [(ids[1], "deleted")]


async def test_retention_beyond_n_removes_the_oldest_finished_ones(
    put_place: Any, create_template: Any, request_generation: Any, db: asyncpg.Pool, settings: Settings
) -> None:
    place_id, _ = await put_place(count=1)
    template = await create_template()
    ids = [(await (await request_generation(place_id, template["id"])).json())["id"] for _ in range(4)]
    await db.execute("UPDATE generations SET status = 'done'")
    async with s3_client(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key) as s3:
        store = ObjectStore(s3)
        await store.ensure_bucket(settings.bucket)
        assert await apply_retention(db, store, settings.bucket, keep=2, keep_for=timedelta(days=10)) == 2
        assert await apply_retention(db, store, settings.bucket, keep=2, keep_for=timedelta(days=10)) == 0
    statuses = dict(await db.fetch("SELECT generation_id, status FROM generations"))
    assert [statuses[i] for i in ids] == ["deleted", "deleted", "done", "done"]
