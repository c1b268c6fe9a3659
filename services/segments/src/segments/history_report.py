"""History reports (extra task 1): requested over HTTP, built by the worker into S3."""

from __future__ import annotations

import uuid
from datetime import UTC

import asyncpg
from pydantic import BaseModel

from quintet_messaging import enqueue_task
from quintet_runtime import current_request_id
from quintet_s3 import ObjectStore
from segments import SERVICE
from segments.domain.rules import ReportPeriod
from segments.storage import memberships as memberships_sql
from segments.storage import reports as reports_sql

REPORT_TASK = "report"
CSV_HEADER = "user_id;segment;operation;datetime"


class ReportTask(BaseModel):
    report_id: uuid.UUID


async def request_report(pool: asyncpg.Pool, user_id: int, period: ReportPeriod) -> uuid.UUID:
    """The pending report row and its task (task id = report id) commit together."""
    report_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await reports_sql.insert_report(conn, report_id, user_id, period.start, period.end)
        await enqueue_task(conn, SERVICE.name, REPORT_TASK, str(report_id), ReportTask(report_id=report_id))
    return report_id


def report_key(report_id: uuid.UUID) -> str:
    return f"reports/{report_id}.csv"


def render_csv(rows: list[asyncpg.Record]) -> bytes:
    lines = [CSV_HEADER]
    for row in rows:
        at = row["at"].astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        lines.append(f"{row['user_id']};{row['slug']};{row['operation']};{at}")
    return ("\n".join(lines) + "\n").encode()


async def build_report(
    conn: asyncpg.Connection, store: ObjectStore, bucket: str, report_id: uuid.UUID
) -> None:
    """Runs in the task's transaction: re-running it (a redelivery) rewrites the same object."""
    report = await reports_sql.get_report(conn, report_id)
    if report is None or report["status"] != "pending":
        return
    # Memberships past their TTL whose sweep has not run yet end now (stamped at their expiry), so
    # the report agrees with what GET answers at this moment.
    await memberships_sql.expire_memberships(conn, current_request_id(), report["user_id"])
    period = ReportPeriod(report["period_from"], report["period_to"])
    rows = await memberships_sql.history(conn, report["user_id"], period.start_at, period.end_at)
    key = report_key(report_id)
    await store.put(bucket, key, render_csv(rows), "text/csv")
    await reports_sql.mark_ready(conn, report_id, key)


async def mark_report_failed(conn: asyncpg.Connection, task_id: str, reason: str) -> None:
    await reports_sql.mark_failed(conn, uuid.UUID(task_id), reason)
