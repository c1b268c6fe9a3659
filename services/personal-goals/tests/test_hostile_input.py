"""Hostile input is a 4xx naming the problem (or a skipped row with its reason), never a 500; datasets
are read only from the service's buckets, within limits, and errors never quote another's content."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from personal_goals.domain.errors import DatasetInvalid
from personal_goals.usecases.goals_dataset import inspect_dataset
from quintet_s3 import DatasetPolicy
from quintet_testing import bearer, expect_error

from .conftest import ADMIN, BUCKET, goal_row, parquet_bytes

VALIDATE = "/internal/admin/validate_goals_upload_from_yt"
APPLY = "/internal/admin/upload_goals_from_yt"
INT64_OVER = 2**63


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", VALIDATE, {"table": "s3://goals-datasets/a\x00.parquet"}),
        ("post", APPLY, {"table": "s3://goals-datasets/a\x00.parquet"}),
        ("post", APPLY, {"table": "s3://goals-datasets/a.parquet", "skipped_offset": INT64_OVER}),
        ("post", "/internal/admin/selections/update", {"selection_id": "s\x00", "status": "active"}),
        ("get", "/internal/admin/selections/s%00", None),
        ("get", f"/internal/admin/selections?offset={INT64_OVER}", None),
        ("get", "/v1/goals/g%00", None),
        ("get", "/v1/goals?yandex_uid=u%00", None),
    ],
    ids=[
        "nul-table-validate",
        "nul-table-apply",
        "offset-over-int64",
        "nul-selection-body",
        "nul-selection-path",
        "list-offset-over-int64",
        "nul-goal-id",
        "nul-named-user",
    ],
)
async def test_nul_characters_and_offsets_over_int64_are_validation_errors(
    client: Any, method: str, path: str, body: dict[str, Any] | None
) -> None:
    headers = bearer("goals:admin goals:read-any", sub="admin")
    response = await getattr(client, method)(path, json=body, headers=headers)
    await expect_error(response, 400, "validation_error")


async def test_a_dataset_outside_the_service_buckets_is_refused_without_quoting_it(
    client: Any, s3: Any
) -> None:
    await s3.create_bucket(Bucket="other-service-reports")
    await s3.put_object(Bucket="other-service-reports", Key="r.csv", Body=b"SECRET-HEADER\nSECRET-ROW\n")
    for table in ("s3://other-service-reports/r.csv", "s3://other-service-reports/reports/"):
        response = await client.post(VALIDATE, json={"table": table}, headers=ADMIN)
        body = await expect_error(response, 400, "invalid_dataset")
        assert "outside what this service may read" in body["message"]
        assert "SECRET" not in json.dumps(body)


async def test_access_denied_by_the_storage_is_a_400_naming_it(client: Any, s3: Any) -> None:
    prefix = f"denied-{uuid.uuid4().hex}/"
    await s3.put_object(Bucket=BUCKET, Key=prefix + "goals.parquet", Body=parquet_bytes([goal_row("g", "u")]))
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": [f"arn:aws:s3:::{BUCKET}/{prefix}*"],
            }
        ],
    }
    await s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(deny))
    try:
        table = f"s3://{BUCKET}/{prefix}goals.parquet"
        body = await expect_error(
            await client.post(VALIDATE, json={"table": table}, headers=ADMIN), 400, "invalid_dataset"
        )
    finally:
        await s3.delete_bucket_policy(Bucket=BUCKET)
    assert "AccessDenied" in body["message"]


async def test_a_key_longer_than_s3_allows_is_a_400(client: Any) -> None:
    table = "s3://goals-datasets/" + "ж" * 600 + ".csv"  # 600 characters, 1200 bytes
    body = await expect_error(
        await client.post(VALIDATE, json={"table": table}, headers=ADMIN), 400, "invalid_dataset"
    )
    assert "S3 allows 1024" in body["message"]


@pytest.mark.parametrize(
    ("limits", "limit"), [({"max_parts": 2}, "max_parts"), ({"max_bytes": 1000}, "max_bytes")]
)
async def test_a_dataset_over_a_limit_is_refused_naming_the_limit(
    s3: Any, put_dataset: Any, limits: dict[str, int], limit: str
) -> None:
    prefix = f"parts-{uuid.uuid4().hex}"
    for n in range(3):
        await put_dataset(parquet_bytes([goal_row(f"g{n}", "u")]), key=f"{prefix}/part-{n}.parquet")
    with pytest.raises(DatasetInvalid) as raised:
        await inspect_dataset(s3, f"s3://{BUCKET}/{prefix}/", DatasetPolicy(allowed=(BUCKET,), **limits))
    assert raised.value.details[0]["problem"] == f"limit:{limit}"
    assert limit in str(raised.value)


async def test_a_missing_dataset_is_named_once(client: Any) -> None:
    table = "s3://goals-datasets/nope/x.jsonl"
    body = await expect_error(
        await client.post(VALIDATE, json={"table": table}, headers=ADMIN), 400, "invalid_dataset"
    )
    assert body["message"] == f"dataset {table}: not found"


async def test_unreadable_jsonl_lines_are_skipped_with_their_reason(
    put_dataset: Any, upload: Any, worker: None
) -> None:
    def line(goal_id: str) -> str:
        row = goal_row(goal_id, f"u-{goal_id}")
        return json.dumps(
            row | {"starts_at": row["starts_at"].isoformat(), "expires_at": row["expires_at"].isoformat()}
        )

    nested = '{"goal_id": ' + "[" * 10_000 + "]" * 10_000 + "}"
    data = "\n".join([line("first"), nested, "{not json", line("last")]) + "\n"
    result = await upload(await put_dataset(data.encode(), ".jsonl"))
    assert result["status"] == "partially_completed"
    assert [(s["row_index"], s["reason"]) for s in result["skipped_goals"]] == [
        (1, "unreadable_row"),
        (2, "unreadable_row"),
    ]


async def test_a_corrupt_parquet_page_fails_the_upload_with_its_reason(
    client: Any, put_dataset: Any, upload: Any, worker: None
) -> None:
    rows = [
        goal_row(f"g{i}", f"u{i}", conditions=json.dumps({"pad": uuid.uuid4().hex * 40})) for i in range(200)
    ]
    sink = io.BytesIO()
    pq.write_table(
        pa.Table.from_pylist(rows, schema=pq.read_schema(io.BytesIO(parquet_bytes(rows[:1])))),
        sink,
        compression="snappy",
    )
    data = bytearray(sink.getvalue())
    metadata = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    conditions = metadata.row_group(0).column(metadata.schema.names.index("conditions"))
    first_page = (
        conditions.dictionary_page_offset if conditions.has_dictionary_page else conditions.data_page_offset
    )
    middle = first_page + conditions.total_compressed_size // 2
    data[middle : middle + 64] = b"\xff" * 64  # validation reads only selection_id: the load finds it
    table = await put_dataset(bytes(data))
    result = await upload(table)
    assert result["status"] == "failed"
    assert (
        result["failure_reason"]
        == f"s3://{BUCKET}/{table.rsplit('/', 1)[1]}: row group 0 cannot be read as Parquet"
    )
