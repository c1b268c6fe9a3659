"""History reports (extra task 1): requested over HTTP, built by the worker into S3, downloaded from
there. A report is streamed both ways: from a database cursor into a multipart upload, and from S3 to
the client, so its size never matters to memory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC

import asyncpg
import structlog
from pydantic import BaseModel

from quintet_messaging import enqueue_task
from quintet_runtime import current_request_id
from quintet_s3 import ObjectNotFound, ObjectStore
from segments import SERVICE
from segments.domain.errors import ReportFailed, ReportGone, ReportNotFound
from segments.domain.model import HistoryEntry, Report
from segments.domain.rules import ReportPeriod
from segments.storage import memberships as memberships_sql
from segments.storage import reports as reports_sql

log = structlog.get_logger("segments.reports")

REPORT_TASK = "report"
CSV_HEADER = "user_id;segment;operation;datetime"
# The one reason a client reads when a report's task gave up (what failed is in the worker's log).
BUILD_FAILED = "build_failed"
CHUNK_BYTES = 64 * 1024


class ReportTask(BaseModel):
    report_id: uuid.UUID


@dataclass(frozen=True)
class ReportDownload:
    report: Report
    chunks: AsyncIterator[bytes] | None  # the CSV when ready (its object already fetched); None while pending


async def request_report(pool: asyncpg.Pool, user_id: int, period: ReportPeriod) -> uuid.UUID:
    """The pending report row and its task (task id = report id) commit together. An identical
    request (same user and period) while one is pending answers that one: no second build."""
    async with pool.acquire() as conn, conn.transaction():
        report_id, created = await reports_sql.insert_or_find_pending(
            conn, uuid.uuid4(), user_id, period.start, period.end
        )
        if created:
            await enqueue_task(
                conn, SERVICE.name, REPORT_TASK, str(report_id), ReportTask(report_id=report_id)
            )
    return report_id


async def download_report(pool: asyncpg.Pool, store: ObjectStore, bucket: str, raw_id: str) -> ReportDownload:
    """The report's state, and when ready its CSV. The object is fetched before anything is answered,
    so a missing object is a clean error (ReportGone), never a 200 cut short."""
    try:
        report_id = uuid.UUID(raw_id)
    except ValueError:
        raise ReportNotFound(raw_id) from None  # never issued by us: as unknown as any other id
    report = await reports_sql.get_report(pool, report_id)
    if report is None:
        raise ReportNotFound(raw_id)
    if report.status == "failed":
        raise ReportFailed(raw_id, report.failure_reason or BUILD_FAILED)
    if report.status == "pending":
        return ReportDownload(report, None)
    assert report.object_key is not None
    stream = store.stream(bucket, report.object_key)
    try:
        first = await anext(stream, b"")
    except ObjectNotFound:
        raise ReportGone(raw_id) from None
    return ReportDownload(report, _prepend(first, stream))


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


def report_key(report_id: uuid.UUID) -> str:
    return f"reports/{report_id}.csv"


def csv_line(entry: HistoryEntry) -> str:
    at = entry.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{entry.user_id};{entry.slug};{entry.operation};{at}\n"


async def csv_chunks(entries: AsyncIterator[HistoryEntry]) -> AsyncIterator[bytes]:
    """The CSV in chunks of about CHUNK_BYTES."""
    buffer = [CSV_HEADER + "\n"]
    size = len(buffer[0])
    async for entry in entries:
        line = csv_line(entry)
        buffer.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    yield "".join(buffer).encode()


async def build_report(
    conn: asyncpg.Connection, store: ObjectStore, bucket: str, report_id: uuid.UUID
) -> None:
    """Runs in the task's transaction: re-running it (a redelivery) rewrites the same object."""
    report = await reports_sql.get_report(conn, report_id)
    if report is None or report.status != "pending":
        return
    # Memberships past their TTL whose sweep has not run yet end now (stamped at their expiry), so
    # the report agrees with what GET answers at this moment.
    await memberships_sql.expire_memberships(conn, current_request_id(), report.user_id)
    period = ReportPeriod(report.period_from, report.period_to)
    key = report_key(report_id)
    entries = memberships_sql.history(conn, report.user_id, period.start_at, period.end_at)
    await store.upload_stream(bucket, key, csv_chunks(entries), "text/csv")
    await reports_sql.mark_ready(conn, report_id, key)


async def mark_report_failed(conn: asyncpg.Connection, task_id: str, reason: str) -> None:
    """The task was parked: the report fails with a stable reason; the exception text stays in the log."""
    log.warning("report failed", report_id=task_id, reason=reason)
    await reports_sql.mark_failed(conn, uuid.UUID(task_id), BUILD_FAILED)
