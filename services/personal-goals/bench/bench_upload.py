"""Benchmark: upload 1,000,000 goals (Parquet, 200,000 users, ~1 % overlapping) end to end.

Our path: validate + apply over real HTTP (`create_app`), the real worker (in-process) loading the
dataset from S3 chunk by chunk until the upload is complete. Baselines in the same run, same rows:
- per-row: one overlap SELECT + one INSERT per goal (a 50,000-row sample; what a naive loader does);
- COPY: the rows COPYed into a bare table with no index or constraint (the physical limit).

    uv run python services/personal-goals/bench/bench_upload.py

Reads QUINTET_PG_DSN, QUINTET_AMQP_URL, QUINTET_S3_ENDPOINT (a moto server is started when unset);
creates and drops its own database and RabbitMQ vhost. Env BENCH_GOALS overrides the row count,
BENCH_CHUNK_SIZE the chunk size (default: the service's 10,000).
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from personal_goals import SERVICE
from personal_goals.domain.goal_rows import canonical_chunk
from personal_goals.settings import Settings
from personal_goals.storage.chunk_loader import chunk_csv
from personal_goals.worker import build_worker
from quintet_db import create_pool
from quintet_s3.store import s3_client
from quintet_testing.http import api_client, bearer
from quintet_testing.infra import DatabaseFactory, VirtualHost, start_moto_server

GOALS = int(os.environ.get("BENCH_GOALS", "1000000"))
CHUNK_SIZE = int(os.environ.get("BENCH_CHUNK_SIZE", "10000"))  # the service default
USERS = 200_000
PER_ROW_SAMPLE = 50_000
BUCKET = "goals-datasets"  # the service's own dataset bucket (the only one it reads by default)
WEEK_US = 7 * 24 * 3600 * 1_000_000
DAY_US = 24 * 3600 * 1_000_000


def generate_goals(count: int) -> pa.Table:
    """Weekly goals per user (vectorised); 1 % of them run 10 days and overlap the user's next one.
    Rows are shuffled, so overlaps fall inside chunks as well as across them."""
    index = pa.array(range(count), pa.int64())
    as_text = pc.cast(index, pa.string())
    user = pc.subtract(index, pc.multiply(pc.divide(index, USERS), USERS))
    slot = pc.divide(index, USERS)
    base = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
    starts = pc.add(pc.multiply(slot, WEEK_US), base)
    hundredth = pc.equal(pc.subtract(index, pc.multiply(pc.divide(index, 100), 100)), 0)
    length = pc.if_else(hundredth, 10 * DAY_US, WEEK_US)
    tenth = pc.subtract(index, pc.multiply(pc.divide(index, 10), 10))
    conditions = pa.array([f'{{"type": "ride", "classes": ["econom"], "count": {n + 1}}}' for n in range(10)])
    bonuses = pa.array([f'{{"type": "promocode", "value": {100 * (n + 1)}}}' for n in range(10)])
    table = pa.table(
        {
            "selection_id": pc.binary_join_element_wise(
                "bench-", pc.cast(pc.divide(tenth, 3), pa.string()), ""
            ),
            "goal_id": pc.binary_join_element_wise("goal-", as_text, ""),
            "yandex_uid": pc.binary_join_element_wise("uid-", pc.cast(user, pa.string()), ""),
            "conditions": pc.take(conditions, tenth),
            "bonus": pc.take(bonuses, tenth),
            "application": pa.array(["yandex"] * count, pa.string()),
            "starts_at": pc.cast(starts, pa.timestamp("us", tz="UTC")),
            "expires_at": pc.cast(pc.add(starts, length), pa.timestamp("us", tz="UTC")),
        }
    )
    order = list(range(count))
    random.Random(42).shuffle(order)
    return table.take(pa.array(order))


async def bind_event_consumer(amqp_url: str) -> None:
    """A queue standing in for the consumers of our events (unroutable events would be retried by the
    relay and cost the worker time no real deployment pays)."""
    import aio_pika

    from quintet_contracts import EVENTS_EXCHANGE

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue("bench.personal-goals-events", durable=False)
        await queue.bind(exchange, "personal-goals.#")


async def our_upload(settings: Settings, s3: Any, table_address: str, expected_rows: int) -> float:
    """Seconds from the validate call to the upload reported complete (drafts-service polling)."""
    admin = bearer("goals:admin", sub="bench")
    pool = await create_pool(settings.pg_dsn, SERVICE.schema, min_size=2, max_size=6)
    worker = asyncio.ensure_future(build_worker(settings, pool, s3).run())
    try:
        async with api_client(SERVICE.create_app(settings)) as client:
            started = time.perf_counter()
            response = await client.post(
                "/internal/admin/validate_goals_upload_from_yt", json={"table": table_address}, headers=admin
            )
            assert response.status == 200, await response.text()
            assert (await response.json())["rows"] == expected_rows
            validated = time.perf_counter() - started
            while True:
                response = await client.post(
                    "/internal/admin/upload_goals_from_yt",
                    json={"table": table_address, "skipped_limit": 1},
                    headers=admin,
                )
                assert response.status == 200, await response.text()
                body = await response.json()
                if body["status"] != "in_progress":
                    elapsed = time.perf_counter() - started
                    break
                await asyncio.sleep(0.1)
        loaded = sum(s["loaded"] for s in body["selections"])
        print(
            f"  ours: {expected_rows} rows in {elapsed:.2f}s; loaded {loaded}, "
            f"skipped {body['skipped_total']} "
            f"({body['status']}); validation took {validated:.2f}s",
            file=sys.stderr,
        )
        assert loaded + body["skipped_total"] == expected_rows
        return elapsed
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await pool.close()


_BASELINE_TABLE = """
CREATE TABLE {name} (
    goal_id text PRIMARY KEY, selection_id text NOT NULL, yandex_uid text NOT NULL, application text NOT NULL,
    conditions jsonb NOT NULL, bonus jsonb NOT NULL,
    starts_at timestamptz NOT NULL, expires_at timestamptz NOT NULL
);
CREATE INDEX ON {name} (yandex_uid, application, starts_at);
"""


async def per_row_baseline(dsn: str, goals: pa.Table) -> float:
    """Goals/s of the naive loader: an overlap SELECT and an INSERT per row (10,000 rows per commit)."""
    sample = goals.slice(0, PER_ROW_SAMPLE).to_pylist()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_BASELINE_TABLE.format(name="public.per_row_goals"))
        overlap = await conn.prepare(
            """SELECT EXISTS (SELECT 1 FROM public.per_row_goals WHERE yandex_uid = $1 AND application = $2
               AND starts_at < $4 AND $3 < expires_at)"""
        )
        insert = await conn.prepare(
            "INSERT INTO public.per_row_goals"
            " VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb, $7, $8)"
        )
        started = time.perf_counter()
        for begin in range(0, len(sample), 10_000):
            async with conn.transaction():
                for row in sample[begin : begin + 10_000]:
                    if await overlap.fetchval(
                        row["yandex_uid"], row["application"], row["starts_at"], row["expires_at"]
                    ):
                        continue
                    await insert.fetch(
                        row["goal_id"],
                        row["selection_id"],
                        row["yandex_uid"],
                        row["application"],
                        row["conditions"],
                        row["bonus"],
                        row["starts_at"],
                        row["expires_at"],
                    )
        return len(sample) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def copy_baseline(dsn: str, goals: pa.Table) -> float:
    """Goals/s of a raw COPY of the same rows (as CSV, the encoding our loader uses) into a bare table."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """CREATE TABLE public.copy_goals (row_index bigint, selection_id text, goal_id text,
               yandex_uid text,
               application text, conditions jsonb, bonus jsonb, starts_at timestamptz, expires_at timestamptz,
               error text, repeated boolean)"""
        )

        async def csv_chunks() -> AsyncIterator[bytes]:
            for begin in range(0, goals.num_rows, 100_000):
                yield chunk_csv(canonical_chunk(goals.slice(begin, 100_000), begin, "parquet"))

        started = time.perf_counter()
        await conn.copy_to_table("copy_goals", schema_name="public", source=csv_chunks(), format="csv")
        return goals.num_rows / (time.perf_counter() - started)
    finally:
        await conn.close()


async def main() -> None:
    server_dsn = os.environ.get("QUINTET_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    moto = None
    endpoint = os.environ.get("QUINTET_S3_ENDPOINT")
    if not endpoint:
        moto, endpoint = start_moto_server()
    vhost = VirtualHost(os.environ.get("QUINTET_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    amqp_url = vhost.create()
    databases = DatabaseFactory(server_dsn)
    try:
        dsn = await databases.migrated(SERVICE.schema, SERVICE.migration_sources)
        settings = Settings(
            pg_dsn=dsn,
            amqp_url=amqp_url,
            s3_endpoint=endpoint,
            s3_access_key=os.environ.get("QUINTET_S3_ACCESS_KEY", "test"),
            s3_secret_key=os.environ.get("QUINTET_S3_SECRET_KEY", "test"),
            log_level="WARNING",
            chunk_size=CHUNK_SIZE,
        )
        await bind_event_consumer(amqp_url)
        started = time.perf_counter()
        goals = generate_goals(GOALS)
        sink = io.BytesIO()
        pq.write_table(goals, sink, row_group_size=100_000)
        print(f"  generated {GOALS} goals in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        async with s3_client(endpoint, settings.s3_access_key, settings.s3_secret_key) as s3:
            try:
                await s3.create_bucket(Bucket=BUCKET)
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
            key = f"{uuid.uuid4().hex}/goals.parquet"
            await s3.put_object(Bucket=BUCKET, Key=key, Body=sink.getvalue())
            del sink
            ours = GOALS / await our_upload(settings, s3, f"s3://{BUCKET}/{key}", GOALS)
        per_row = await per_row_baseline(dsn, goals)
        copy = await copy_baseline(dsn, goals)
        print(f"BENCH goals-upload {ours:.0f} goals/s baseline={per_row:.0f} ratio={ours / per_row:.2f}")
        print(
            f"BENCH goals-upload-vs-copy-limit {ours:.0f} goals/s baseline={copy:.0f} ratio={ours / copy:.2f}"
        )
        if ours < 50_000:
            print(f"  goal missed: {ours:.0f} goals/s < 50,000 goals/s", file=sys.stderr)
    finally:
        await databases.drop_all()
        vhost.delete()
        if moto is not None:
            moto.terminate()
            moto.wait(timeout=10)


if __name__ == "__main__":
    from quintet_runtime import configure_logging

    configure_logging("personal-goals-bench", json=False, level="WARNING")
    asyncio.run(main())
