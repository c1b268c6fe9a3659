"""Crash and resume: a worker process killed mid-upload (kill -9) and started again loads every row
exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from typing import Any

import asyncpg

from personal_goals.settings import Settings
from quintet_testing import eventually, expect

from .conftest import ADMIN, NOW, goal_row

ROWS = 20_000
USERS = 4_000


def _dataset() -> list[dict[str, Any]]:
    """Five goals per user, one week apart; every 9th row stretches over the next week (overlap)."""
    rows = []
    for index in range(ROWS):
        user, slot = index % USERS, index // USERS
        starts = NOW + timedelta(days=7 * slot)
        length = timedelta(days=10 if index % 9 == 0 else 7)
        rows.append(
            goal_row(
                f"g{index}",
                f"u{user}",
                selection_id=f"s{index % 3}",
                starts_at=starts,
                expires_at=starts + length,
            )
        )
    return rows


def _expected_loaded(rows: list[dict[str, Any]]) -> set[str]:
    """Reference model of the overlap rule: rows in order, a row loads unless it overlaps a loaded one."""
    loaded: dict[str, list[tuple[Any, Any]]] = {}
    ids = set()
    for row in rows:
        periods = loaded.setdefault(row["yandex_uid"], [])
        if all(row["expires_at"] <= s or e <= row["starts_at"] for s, e in periods):
            periods.append((row["starts_at"], row["expires_at"]))
            ids.add(row["goal_id"])
    return ids


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "QUINTET_PG_DSN": settings.pg_dsn,
        "QUINTET_AMQP_URL": settings.amqp_url,
        "QUINTET_S3_ENDPOINT": settings.s3_endpoint,
        "QUINTET_S3_ACCESS_KEY": settings.s3_access_key,
        "QUINTET_S3_SECRET_KEY": settings.s3_secret_key,
        "QUINTET_LOG_LEVEL": "WARNING",
        "PERSONAL_GOALS_CHUNK_SIZE": "100",
        "PERSONAL_GOALS_SLICE_SECONDS": "0.5",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "personal_goals", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_for(db: asyncpg.Pool, query: str, within_seconds: float = 60.0) -> Any:
    return await eventually(lambda: db.fetchval(query), timeout=within_seconds)


async def test_a_worker_killed_mid_upload_resumes_with_exact_counts(
    client: Any, put_goals: Any, settings: Settings, db: asyncpg.Pool
) -> None:
    rows = _dataset()
    table = await put_goals(rows)
    await expect(
        await client.post("/internal/admin/upload_goals_from_yt", json={"table": table}, headers=ADMIN), 200
    )

    first = _start_worker(settings)
    try:
        killed_at = await _wait_for(
            db, "SELECT last_row_index FROM goal_uploads WHERE last_row_index >= 2000"
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert killed_at < ROWS, "the worker finished before it could be killed"

    second = _start_worker(settings)
    try:
        await _wait_for(db, "SELECT true FROM goal_uploads WHERE status = 'complete'", within_seconds=90)
    finally:
        second.terminate()
        second.wait(timeout=10)

    expected = _expected_loaded(rows)
    loaded = {r["goal_id"] for r in await db.fetch("SELECT goal_id FROM goals")}
    assert loaded == expected
    assert await db.fetchval("SELECT count(*) FROM goal_upload_skips") == ROWS - len(expected)
    progress = await db.fetch("SELECT loaded, skipped, total_rows, status FROM selection_upload_progresses")
    assert sum(p["loaded"] for p in progress) == len(expected)
    assert all(p["loaded"] + p["skipped"] == p["total_rows"] and p["status"] == "complete" for p in progress)
