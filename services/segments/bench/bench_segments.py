"""segments benchmarks: GET user segments (throughput and p99, api in its own process driven by a
load generator in another), a 10 % rollout over 1,000,000 users, registering 1,000,000 users.
Each figure has a baseline measured in the same run. Creates and drops its own databases.

    uv run python services/segments/bench/bench_segments.py
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
from quintet_testing.infra import DatabaseFactory, free_port, start_moto_server
from quintet_web import mint_token
from segments import SERVICE
from segments.usecases import memberships, segments

PG_DSN = os.environ.get("QUINTET_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BIG = int(os.environ.get("BENCH_USERS", "1000000"))
GET_USERS = 100_000
GET_SEGMENTS = 50
SAMPLE = 20_000
CHUNK = 100_000  # the api's per-call limit
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "8"))


async def migrated_database() -> tuple[DatabaseFactory, str]:
    """A fresh migrated database; `drop_all()` on the factory removes it."""
    databases = DatabaseFactory(PG_DSN)
    return databases, await databases.migrated(SERVICE.schema, SERVICE.migration_sources)


def bench_line(name: str, value: float, unit: str, baseline: float, ratio: float, note: str = "") -> None:
    suffix = f"  # {note}" if note else ""
    print(f"BENCH {name} {value:.2f} {unit} baseline={baseline:.2f} ratio={ratio:.2f}{suffix}")


async def register_and_rollout() -> None:
    databases, dsn = await migrated_database()
    pool = await create_pool(dsn, SERVICE.schema, min_size=1, max_size=4)
    try:
        started = time.perf_counter()
        for first in range(1, BIG + 1, CHUNK):
            await memberships.register_users(pool, list(range(first, min(first + CHUNK, BIG + 1))))
        ours = time.perf_counter() - started

        # Baseline: one INSERT per user (executemany) of fresh ids, on a sample, extrapolated.
        sample_ids = [(BIG + 1 + i,) for i in range(SAMPLE)]
        async with pool.acquire() as conn:
            started = time.perf_counter()
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO users (user_id) VALUES ($1) ON CONFLICT DO NOTHING", sample_ids
                )
            per_row = (time.perf_counter() - started) / SAMPLE
            await conn.execute("DELETE FROM users WHERE user_id > $1", BIG)
        baseline = per_row * BIG
        print(
            f"# register: COPY + one INSERT ... SELECT per {CHUNK:,} ids (the api's batch), no live rollouts;"
            f" baseline: executemany INSERT measured on {SAMPLE:,} users, extrapolated x{BIG // SAMPLE}"
        )
        bench_line("segments-register-1m", ours, "s", baseline, baseline / ours)

        async with pool.acquire() as conn:
            await conn.execute("VACUUM ANALYZE users")
        started = time.perf_counter()
        _, members = await segments.create_segment(pool, "BENCH_ROLLOUT_10", 1000)
        ours = time.perf_counter() - started
        async with pool.acquire() as conn:
            history_rows = await conn.fetchval("SELECT count(*) FROM membership_history")
            events = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE message_type = 'segments.membership-changed'"
            )
            # Baseline: the seed's approach on a sample of the same users: ORDER BY random() LIMIT n,
            # then one INSERT per chosen user into memberships and one into history, in a transaction.
            await conn.execute(
                f"""
                CREATE TABLE seed_users AS SELECT user_id FROM users ORDER BY user_id LIMIT {SAMPLE};
                CREATE TABLE seed_user_segments (
                    user_id bigint, segment_id bigint, PRIMARY KEY (user_id, segment_id)
                );
                CREATE TABLE seed_history (id bigserial PRIMARY KEY, user_id bigint, segment_id bigint,
                                           operation text, at timestamptz);
                """
            )
            started = time.perf_counter()
            async with conn.transaction():
                chosen = await conn.fetch(
                    "SELECT user_id FROM seed_users ORDER BY random() LIMIT $1", SAMPLE // 10
                )
                for row in chosen:
                    await conn.execute("INSERT INTO seed_user_segments VALUES ($1, 1)", row["user_id"])
                    await conn.execute(
                        "INSERT INTO seed_history (user_id, segment_id, operation, at)"
                        " VALUES ($1, 1, 'add', now())",
                        row["user_id"],
                    )
            baseline = (time.perf_counter() - started) * BIG / SAMPLE
        print(
            f"# rollout: {members:,} memberships, {history_rows:,} history rows, {events:,} outbox events"
            " in batches of 20,000 users (one transaction each);"
            f" baseline: seed approach measured on {SAMPLE:,} users, extrapolated x{BIG // SAMPLE}"
        )
        bench_line("segments-rollout-1m", ours, "s", baseline, baseline / ours)
    finally:
        await pool.close()
        await databases.drop_all()


def load(url: str, token: str, mode: str) -> dict[str, float]:
    args = [
        sys.executable,
        "-m",
        "quintet_testing.load_generator",
        "--url",
        url,
        "--token",
        token,
        "--mode",
        mode,
        "--users",
        str(GET_USERS),
        "--seconds",
        str(LOAD_SECONDS),
        "--rate",
        "1000",
        "--concurrency",
        "32",
    ]
    output = subprocess.run(args, check=True, capture_output=True, text=True, timeout=120).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def wait_for_health(base: str, api: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise RuntimeError("the api process exited")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the api did not become healthy")


async def get_throughput_and_latency() -> None:
    databases, dsn = await migrated_database()
    pool = await create_pool(dsn, SERVICE.schema, min_size=1, max_size=4)
    moto, s3_endpoint = start_moto_server()
    api: subprocess.Popen[bytes] | None = None
    try:
        await memberships.register_users(pool, list(range(1, GET_USERS + 1)))
        for index in range(GET_SEGMENTS):
            # 2..20 % rollouts: a user is in about five segments.
            await segments.create_segment(pool, f"BENCH_{index}", (index % 10 + 1) * 200)
        async with pool.acquire() as conn:
            membership_count = await conn.fetchval("SELECT count(*) FROM memberships")
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
            [sys.executable, "-m", "segments", "api"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_for_health, base, api)
        token = mint_token(DEV_JWT_SECRET, sub="bench", scope="segments:read")
        segments_url = f"{base}/api/v1/segments/user/{{user_id}}"
        health = await asyncio.to_thread(load, f"{base}/health", "", "closed")
        ours = await asyncio.to_thread(load, segments_url, token, "closed")
        health_paced = await asyncio.to_thread(load, f"{base}/health", "", "open")
        ours_paced = await asyncio.to_thread(load, segments_url, token, "open")
        print(
            f"# GET: {GET_USERS:,} users, {GET_SEGMENTS} segments, {membership_count:,} memberships;"
            " one api process, load generator in another process (32 connections closed-loop, then"
            " 1,000 req/s open-loop); baseline: /health of the same process (the platform ceiling;"
            " no seed GET to compare with)"
        )
        print(f"# GET details: ours {json.dumps(ours)}; health {json.dumps(health)}")
        print(f"# GET paced at 1,000 req/s: ours {json.dumps(ours_paced)}; health {json.dumps(health_paced)}")
        if ours["errors"] or ours_paced["errors"]:
            print(f"# WARNING: {ours['errors'] + ours_paced['errors']} requests failed")
        bench_line("segments-get-rps", ours["rps"], "req/s", health["rps"], ours["rps"] / health["rps"])
        bench_line(
            "segments-get-p99-ms",
            ours_paced["p99_ms"],
            "ms",
            health_paced["p99_ms"],
            health_paced["p99_ms"] / ours_paced["p99_ms"],
        )
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=10)
        moto.terminate()
        moto.wait(timeout=10)
        await pool.close()
        await databases.drop_all()


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    only = os.environ.get("BENCH_ONLY", "")  # "get" or "bulk" to run one half
    if only in ("", "get"):
        await get_throughput_and_latency()
    if only in ("", "bulk"):
        await register_and_rollout()


if __name__ == "__main__":
    asyncio.run(main())
