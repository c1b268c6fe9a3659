"""segments benchmark: user reads while a rollout grows.

`segments-get-p99-during-rollout-ms`: p99 of `GET /api/v1/segments/user/{id}` at 500 req/s (api in its
own process, load generator in another) while a rollout over 1,000,000 users grows from 10 % to 60 %
through `PATCH /api/v1/segment/{slug}` (500,000 memberships, history rows and events). Baseline: p99
at the same rate on the same data with no rollout running. Goal: ≤ 50 ms. Creates and drops its own
database.

    uv run python services/segments/bench/bench_rollout_reads.py
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
import urllib.request

import structlog

from quintet_db import create_pool
from quintet_runtime import DEV_JWT_SECRET
from quintet_testing.infra import free_port, start_moto_server
from quintet_web import mint_token
from segments import SERVICE
from segments.usecases import memberships, segments

sys.path.insert(0, os.path.dirname(__file__))
from bench_segments import bench_line, migrated_database, wait_for_health

USERS = int(os.environ.get("BENCH_USERS", "1000000"))
RATE = 500
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "6"))
CHUNK = 100_000


async def load(url: str, token: str, seconds: float) -> dict[str, float]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "quintet_testing.load_generator",
        "--url",
        url,
        "--token",
        token,
        "--mode",
        "open",
        "--users",
        str(USERS),
        "--seconds",
        str(seconds),
        "--rate",
        str(RATE),
        "--concurrency",
        "32",
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    return dict(json.loads(output.decode().strip().splitlines()[-1]))


def patch(url: str, token: str, percent: float) -> float:
    """Seconds the PATCH took (it answers once the growth is materialised)."""
    request = urllib.request.Request(
        url,
        method="PATCH",
        data=json.dumps({"percent": percent}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        assert response.status == 200, response.status
    return time.perf_counter() - started


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    databases, dsn = await migrated_database()
    pool = await create_pool(dsn, SERVICE.schema, min_size=1, max_size=4)
    moto, s3_endpoint = start_moto_server()
    api = None
    try:
        for first in range(1, USERS + 1, CHUNK):
            await memberships.register_users(pool, list(range(first, min(first + CHUNK, USERS + 1))))
        for index in range(5):  # reads answer a few explicit and rollout segments
            await segments.create_segment(pool, f"BENCH_{index}", 500)
        await segments.create_segment(pool, "GROWING", 1000)  # 10 %
        async with pool.acquire() as conn:
            await conn.execute("VACUUM ANALYZE")
        port = free_port()
        env = {
            **os.environ,
            "QUINTET_PG_DSN": dsn,
            "QUINTET_S3_ENDPOINT": s3_endpoint,
            "QUINTET_LOG_LEVEL": "WARNING",
            "SEGMENTS_PORT": str(port),
        }
        api = subprocess.Popen(  # noqa: ASYNC220 (started once, not on a hot path)
            [sys.executable, "-m", "segments", "api"], env=env, stdout=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_for_health, base, api)
        read = mint_token(DEV_JWT_SECRET, sub="bench", scope="segments:read")
        write = mint_token(DEV_JWT_SECRET, sub="bench", scope="segments:read segments:write")
        url = f"{base}/api/v1/segments/user/{{user_id}}"

        quiet = await load(url, read, LOAD_SECONDS)
        # The growth starts first; the load (warm-up, then LOAD_SECONDS paced) runs inside it.
        started = time.perf_counter()
        growing = asyncio.ensure_future(asyncio.to_thread(patch, f"{base}/api/v1/segment/GROWING", write, 60))
        during = await load(url, read, LOAD_SECONDS)
        load_ended = time.perf_counter() - started
        growth_seconds = await growing
        added = await pool.fetchval(
            """SELECT count(*) FROM memberships m JOIN segments s ON s.id = m.segment_id
               WHERE s.slug = 'GROWING'"""
        )
        print(
            f"# {USERS:,} users; rollout GROWING 10 % -> 60 %: {growth_seconds:.1f} s through the api,"
            f" {added:,} members after; reads at {RATE} req/s, one api process, load generator in another"
        )
        print(f"# quiet: {json.dumps(quiet)}")
        print(f"# during the growth: {json.dumps(during)}")
        if load_ended > growth_seconds:
            print(f"# NOTE: the growth ended {load_ended - growth_seconds:.1f} s before the load window did")
        if quiet["errors"] or during["errors"]:
            print(f"# WARNING: {quiet['errors'] + during['errors']} reads failed")
        bench_line(
            "segments-get-p99-during-rollout-ms",
            during["p99_ms"],
            "ms",
            quiet["p99_ms"],
            quiet["p99_ms"] / during["p99_ms"],
            "goal <= 50 ms; baseline: same rate, no rollout running",
        )
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=10)
        moto.terminate()
        moto.wait(timeout=10)
        await pool.close()
        await databases.drop_all()


if __name__ == "__main__":
    asyncio.run(main())
