"""Benchmark: one upload of 10,000 goals of one user, each overlapping the next (goal: <= 2 s).

Ours: validate + apply over real HTTP, the real worker in-process, until the upload is complete (the
chain is one chunk: the service's chunk size is 10,000). Every other row loads.

Baseline, same run: the previous in-chunk algorithm (rounds of set-based UPDATEs over the unindexed
staging table: each round accepts the earliest undecided row and rejects what it overlaps, so a chain
of n rows takes n/2 rounds of O(n^2) work). It is far too slow at 10,000 rows, so it runs on a chain of
BENCH_BASELINE_ROWS (default 600) rows and its time is extrapolated as n^3 to 10,000 (printed as
such on stderr).

    uv run python services/personal-goals/bench/bench_overlap_chain.py
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq

from personal_goals import SERVICE
from personal_goals.domain.goal_rows import canonical_chunk
from personal_goals.settings import Settings
from personal_goals.storage import chunk_loader
from personal_goals.storage.chunk_loader import chunk_csv
from personal_goals.worker import build_worker
from quintet_db import create_pool
from quintet_s3.store import s3_client
from quintet_testing import DatabaseFactory, api_client, bearer, eventually, start_moto_server
from quintet_testing.infra import VirtualHost

ROWS = 10_000
BASELINE_ROWS = int(os.environ.get("BENCH_BASELINE_ROWS", "600"))
BUCKET = "goals-datasets"
T0 = datetime(2030, 1, 1, tzinfo=UTC)

# The previous algorithm's two statements, verbatim in effect: repeated until no row is undecided.
_OLD_OVERLAPS_EARLIER = """
    SELECT 1 FROM goal_upload_staging e
    WHERE e.yandex_uid = s.yandex_uid AND e.application = s.application AND e.row_index < s.row_index
      AND e.starts_at < s.expires_at AND s.starts_at < e.expires_at
"""
_OLD_ACCEPT_ROUND = f"""
UPDATE goal_upload_staging s SET verdict = 'accept'
WHERE s.verdict IS NULL
  AND NOT EXISTS ({_OLD_OVERLAPS_EARLIER} AND (e.verdict IS NULL OR e.verdict = 'accept'))
"""
_OLD_REJECT_ROUND = f"""
UPDATE goal_upload_staging s SET verdict = 'overlap'
WHERE s.verdict IS NULL AND EXISTS ({_OLD_OVERLAPS_EARLIER} AND e.verdict = 'accept')
"""


def chain(rows: int, selection_id: str) -> pa.Table:
    """One user's goals, each [i, i + 2) days: every goal overlaps the next."""
    return pa.table(
        {
            "selection_id": [selection_id] * rows,
            "goal_id": [f"{selection_id}-{i}" for i in range(rows)],
            "yandex_uid": ["chain-user"] * rows,
            "application": ["yandex"] * rows,
            "conditions": ['{"type": "ride"}'] * rows,
            "bonus": ['{"value": 100}'] * rows,
            "starts_at": pa.array(
                [T0 + timedelta(days=i) for i in range(rows)], pa.timestamp("us", tz="UTC")
            ),
            "expires_at": pa.array(
                [T0 + timedelta(days=i + 2) for i in range(rows)], pa.timestamp("us", tz="UTC")
            ),
        }
    )


async def our_upload(settings: Settings, table: str) -> float:
    admin = bearer("goals:admin", sub="bench")
    pool = await create_pool(settings.pg_dsn, SERVICE.schema, min_size=2, max_size=6)
    async with s3_client(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key) as s3:
        worker = asyncio.ensure_future(build_worker(settings, pool, s3).run())
        try:
            async with api_client(SERVICE.create_app(settings)) as client:
                started = time.perf_counter()

                async def complete() -> bool:
                    response = await client.post(
                        "/internal/admin/upload_goals_from_yt", json={"table": table}, headers=admin
                    )
                    body = await response.json()
                    assert response.status == 200, body
                    return bool(body["status"] != "in_progress")

                await eventually(complete, timeout=600, interval=0.01)
                elapsed = time.perf_counter() - started
            loaded = await pool.fetchval("SELECT count(*) FROM goals")
            assert loaded == ROWS // 2, loaded
            return elapsed
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await pool.close()


async def old_algorithm(dsn: str, rows: int) -> float:
    """Seconds the previous rounds take to decide a chain of `rows` rows (staged and classified)."""
    table = f"s3://{BUCKET}/baseline.parquet"
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SERVICE.schema})
    try:
        await conn.execute("INSERT INTO selections (selection_id) VALUES ('baseline')")
        await conn.execute(
            "INSERT INTO goal_uploads (table_address, total_rows) VALUES ($1, $2)", table, rows
        )
        await conn.execute(
            "INSERT INTO selection_upload_progresses (selection_id, table_address, total_rows)"
            " VALUES ('baseline', $1, $2)",
            table,
            rows,
        )
        csv = chunk_csv(canonical_chunk(chain(rows, "baseline"), 0, "parquet"))
        async with conn.transaction():
            await chunk_loader.stage_chunk(conn, csv)
            await chunk_loader.classify_rows(conn, table, check_stored_ids=False)
            started = time.perf_counter()
            while await conn.fetchval("SELECT count(*) FROM goal_upload_staging WHERE verdict IS NULL"):
                await conn.execute(_OLD_ACCEPT_ROUND)
                await conn.execute(_OLD_REJECT_ROUND)
            elapsed = time.perf_counter() - started
            rejected = await conn.fetchval(
                "SELECT count(*) FROM goal_upload_staging WHERE verdict = 'overlap'"
            )
            assert rejected == rows // 2, rejected
        return elapsed
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
        )
        sink = io.BytesIO()
        pq.write_table(chain(ROWS, "chain"), sink)
        async with s3_client(endpoint, settings.s3_access_key, settings.s3_secret_key) as s3:
            try:
                await s3.create_bucket(Bucket=BUCKET)
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
            key = f"{uuid.uuid4().hex}/chain.parquet"
            await s3.put_object(Bucket=BUCKET, Key=key, Body=sink.getvalue())
        ours = await our_upload(settings, f"s3://{BUCKET}/{key}")
        measured = await old_algorithm(
            await databases.migrated(SERVICE.schema, SERVICE.migration_sources), BASELINE_ROWS
        )
        baseline = measured * (ROWS / BASELINE_ROWS) ** 3
        print(
            f"  baseline: the previous algorithm took {measured:.2f}s on a chain of {BASELINE_ROWS} rows;"
            f" extrapolated as n^3 to {ROWS} rows: {baseline:.0f}s",
            file=sys.stderr,
        )
        print(
            f"BENCH goals-overlap-chain-10k {ours:.2f} s baseline={baseline:.0f} ratio={baseline / ours:.0f}"
        )
        if ours > 2:
            print(f"  goal missed: {ours:.2f} s > 2 s", file=sys.stderr)
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
