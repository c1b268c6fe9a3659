"""Fixtures: a fresh migrated database per test, the api over real HTTP, the real worker in-process,
and goals datasets written into the (moto) S3 server."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from personal_goals import SERVICE
from quintet_s3.store import s3_client
from quintet_testing import bearer, eventually, service_fixtures

BUCKET = "goals-datasets"
ADMIN = bearer("goals:admin", sub="admin")
NOW = datetime.now(UTC).replace(microsecond=0)


def goal_row(
    goal_id: str,
    uid: str,
    *,
    selection_id: str = "sel-1",
    application: str = "yandex",
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    starts = starts_at or NOW - timedelta(days=1)
    row: dict[str, Any] = {
        "selection_id": selection_id,
        "goal_id": goal_id,
        "yandex_uid": uid,
        "conditions": json.dumps({"type": "ride", "classes": ["econom"], "count": 5}),
        "bonus": json.dumps({"type": "promocode", "value": 300}),
        "application": application,
        "starts_at": starts,
        "expires_at": expires_at or starts + timedelta(days=10),
    }
    row.update(overrides)
    return row


def parquet_bytes(rows: list[dict[str, Any]], schema: pa.Schema | None = None) -> bytes:
    schema = schema or pa.schema(
        [
            (c, pa.string())
            for c in ("selection_id", "goal_id", "yandex_uid", "conditions", "bonus", "application")
        ]
        + [("starts_at", pa.timestamp("us", tz="UTC")), ("expires_at", pa.timestamp("us", tz="UTC"))]
    )
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), sink)
    return sink.getvalue()


globals().update(service_fixtures(SERVICE, chunk_size=4, slice_seconds=0.2, pg_pool_max=4))


@pytest.fixture(scope="session")
async def s3(s3_endpoint: str, s3_credentials: dict[str, str]) -> AsyncIterator[Any]:
    async with s3_client(s3_endpoint, s3_credentials["access_key"], s3_credentials["secret_key"]) as client:
        try:
            await client.create_bucket(Bucket=BUCKET)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        yield client


@pytest.fixture
def put_dataset(s3: Any) -> Callable[..., Any]:
    """Store bytes under a unique key; returns the s3:// address."""

    async def put(data: bytes, suffix: str = ".parquet", key: str | None = None) -> str:
        key = key or f"{uuid.uuid4().hex}{suffix}"
        await s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return f"s3://{BUCKET}/{key}"

    return put


@pytest.fixture
def put_goals(put_dataset: Callable[..., Any]) -> Callable[..., Any]:
    async def put(rows: list[dict[str, Any]]) -> str:
        return str(await put_dataset(parquet_bytes(rows)))

    return put


@pytest.fixture
def upload(client: Any) -> Callable[..., Any]:
    """Apply a table and poll like the drafts service until the upload is no longer in progress."""

    async def apply(table: str) -> dict[str, Any]:
        response = await client.post(
            "/internal/admin/upload_goals_from_yt", json={"table": table}, headers=ADMIN
        )
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def run(table: str, within_seconds: float = 30.0) -> dict[str, Any]:
        async def finished() -> dict[str, Any]:
            body = await apply(table)
            assert body["status"] != "in_progress", body
            return body

        return await eventually(finished, timeout=within_seconds, interval=0.05)

    return run


@pytest.fixture
def activate(client: Any) -> Callable[..., Any]:
    async def run(selection_id: str = "sel-1") -> None:
        response = await client.post(
            "/internal/admin/selections/update",
            json={"selection_id": selection_id, "status": "active"},
            headers=ADMIN,
        )
        assert response.status == 200, await response.text()

    return run
