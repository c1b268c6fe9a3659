"""History reports: one report per identical pending request, streamed into S3 and out of it, a clean
error when its file is gone, a stable failure reason, Retry-After while pending."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from quintet_testing import expect, expect_error
from segments.api.models import ReportAccepted
from segments.settings import Settings

from .conftest import READ
from .test_worker import download, request_report


async def report_tasks(db: asyncpg.Pool) -> int:
    return int(await db.fetchval("SELECT count(*) FROM outbox WHERE message_type = 'segments.task.report'"))


async def test_identical_pending_requests_are_one_report(client: Any, db: asyncpg.Pool) -> None:
    first = await request_report(client, 5, "period=2023-08")
    again = await request_report(client, 5, "from=2023-08-01&to=2023-09-01")  # the same period
    assert again.report_id == first.report_id
    assert await report_tasks(db) == 1


async def test_racing_identical_requests_are_one_report(client: Any, db: asyncpg.Pool) -> None:
    accepted = await asyncio.gather(*(request_report(client, 5, "period=2023-08") for _ in range(8)))
    assert len({a.report_id for a in accepted}) == 1
    assert await report_tasks(db) == 1


@pytest.mark.parametrize(
    ("user_id", "query"), [(6, "period=2023-08"), (5, "period=2023-09"), (5, "from=2023-08-01&to=2023-08-31")]
)
async def test_a_request_of_another_user_or_period_is_another_report(
    client: Any, user_id: int, query: str
) -> None:
    first = await request_report(client, 5, "period=2023-08")
    other = await request_report(client, user_id, query)
    assert other.report_id != first.report_id


async def test_a_request_after_the_report_is_ready_builds_a_new_one(worker: None, client: Any) -> None:
    first = await request_report(client, 5, "period=2023-08")
    await download(client, first.link)
    again = await request_report(client, 5, "period=2023-08")
    assert again.report_id != first.report_id


async def test_a_pending_report_says_when_to_ask_again(client: Any) -> None:
    accepted = await request_report(client, 5, "period=2023-08")
    response = await client.get(f"/api/v1/reports/{accepted.report_id}", headers=READ)
    assert response.status == 202
    assert int(response.headers["Retry-After"]) >= 1


async def test_a_report_larger_than_an_upload_part_is_complete(
    worker: None, client: Any, db: asyncpg.Pool
) -> None:
    # 250,000 rows of ~40 bytes: about 10 MB, more than one 8 MiB part of the multipart upload.
    await db.execute(
        """
        INSERT INTO membership_history (user_id, segment_id, slug, operation, reason, at)
        SELECT 5, 1, 'S' || (i % 100), CASE WHEN i % 2 = 0 THEN 'add' ELSE 'delete' END, 'manual',
               '2023-08-01'::timestamptz + i * interval '1 second'
        FROM generate_series(0, 249999) AS i
        """
    )
    accepted = await request_report(client, 5, "period=2023-08")
    lines = (await download(client, accepted.link)).splitlines()
    assert len(lines) == 250_001
    assert lines[1] == "5;S0;add;2023-08-01T00:00:00Z"
    assert lines[-1] == "5;S99;delete;2023-08-03T21:26:39Z"


async def test_a_ready_report_whose_file_is_gone_is_a_clean_410(
    worker: None, client: Any, s3: Any, settings: Settings
) -> None:
    accepted = await request_report(client, 5, "period=2023-08")
    await download(client, accepted.link)
    await s3.delete_object(Bucket=settings.reports_bucket, Key=f"reports/{accepted.report_id}.csv")
    error = await expect_error(
        await client.get(f"/api/v1/reports/{accepted.report_id}", headers=READ), 410, "report_gone"
    )
    assert "request it again" in error["message"]


async def test_a_failed_report_shows_a_stable_reason_not_exception_text(
    client: Any, db: asyncpg.Pool
) -> None:
    from segments.usecases.history_reports import mark_report_failed

    accepted = await request_report(client, 5, "period=2023-08")
    async with db.acquire() as conn:
        await mark_report_failed(
            conn, str(accepted.report_id), "ClientError: NoSuchBucket s3://internal-bucket/secret-key"
        )
    error = await expect_error(
        await client.get(f"/api/v1/reports/{accepted.report_id}", headers=READ), 409, "report_failed"
    )
    assert error["details"] == {"reason": "build_failed"}
    assert "internal-bucket" not in error["message"] and "ClientError" not in error["message"]


async def test_the_report_link_answers_the_accepted_model(client: Any) -> None:
    response = await client.get("/api/v1/segments/user/5/csv?period=2023-08", headers=READ)
    accepted = await expect(response, 202, ReportAccepted)
    assert accepted.link.endswith(f"/api/v1/reports/{accepted.report_id}")


async def test_the_openapi_documents_the_report_download_as_it_answers(client: Any) -> None:
    document = await expect(await client.get("/openapi.json"), 200, dict)
    responses = document["paths"]["/api/v1/reports/{report_id}"]["get"]["responses"]
    assert responses["200"]["content"] == {"text/csv": {"schema": {"type": "string"}}}
    assert {"404", "409", "410"} <= set(responses)
    assert "Retry-After" in document["paths"]["/api/v1/reports/{report_id}"]["get"]["description"]
