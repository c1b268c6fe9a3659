"""The drafts service's pre-approval check of a dataset."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from personal_goals.api.models import ValidateUploadResponse
from quintet_testing.http import expect, expect_error

from .conftest import ADMIN, NOW, goal_row, parquet_bytes

VALIDATE = "/internal/admin/validate_goals_upload_from_yt"
STRINGS = ("selection_id", "goal_id", "yandex_uid", "conditions", "bonus", "application")


def _schema(**changes: pa.DataType | None) -> pa.Schema:
    fields = [(c, pa.string()) for c in STRINGS] + [
        ("starts_at", pa.timestamp("us", tz="UTC")),
        ("expires_at", pa.timestamp("us", tz="UTC")),
    ]
    fields = [
        (name, changes.get(name, t)) for name, t in fields if not (name in changes and changes[name] is None)
    ]
    fields += [(name, t) for name, t in changes.items() if t is not None and name not in dict(fields)]
    return pa.schema(fields)


def _rows_for(schema: pa.Schema) -> list[dict[str, Any]]:
    row = goal_row("g1", "u1")
    values = {
        pa.string(): lambda v: v if isinstance(v, str) else str(v),
        pa.int64(): lambda v: 1,
    }
    out = {}
    for field in schema:
        value = row.get(field.name, "x")
        convert = values.get(field.type)
        out[field.name] = convert(value) if convert else value
    return [out]


async def test_a_valid_parquet_dataset_is_counted_per_selection(client: Any, put_goals: Any) -> None:
    table = await put_goals(
        [
            goal_row("g1", "u1", selection_id="a"),
            goal_row("g2", "u2", selection_id="b"),
            goal_row("g3", "u3", selection_id="b"),
        ]
    )
    response = await client.post(VALIDATE, json={"table": table}, headers=ADMIN)
    body = await expect(response, 200, ValidateUploadResponse)
    assert body.rows == 3
    assert [(s.selection_id, s.rows) for s in body.selections] == [("a", 1), ("b", 2)]


@pytest.mark.parametrize(
    ("schema", "problems"),
    [
        (_schema(bonus=None), {("bonus", "missing")}),
        (_schema(extra_column=pa.string()), {("extra_column", "unexpected")}),
        (_schema(yandex_uid=pa.int64()), {("yandex_uid", "mistyped")}),
        (_schema(starts_at=pa.string()), {("starts_at", "mistyped")}),
        (
            _schema(goal_id=None, application=pa.int64(), note=pa.string()),
            {("goal_id", "missing"), ("application", "mistyped"), ("note", "unexpected")},
        ),
    ],
    ids=["missing", "extra", "mistyped-string", "mistyped-timestamp", "every-problem-named"],
)
async def test_a_schema_mismatch_is_rejected_naming_each_column(
    client: Any, put_dataset: Any, schema: pa.Schema, problems: set[tuple[str, str]]
) -> None:
    table = await put_dataset(parquet_bytes(_rows_for(schema), schema))
    body = await expect_error(
        await client.post(VALIDATE, json={"table": table}, headers=ADMIN), 400, "invalid_dataset"
    )
    assert {(p["field"], p["problem"]) for p in body["details"]} == problems


@pytest.mark.parametrize(
    ("data", "suffix", "problem"),
    [
        (b"not a parquet file", ".parquet", "unreadable"),
        (parquet_bytes([]), ".parquet", "empty"),
        (b"selection_id,goal_id\n", ".csv", "missing"),
        (b"some bytes", ".xlsx", "unreadable"),
    ],
    ids=["corrupt", "empty", "csv-missing-columns", "unknown-format"],
)
async def test_an_unusable_dataset_is_rejected(
    client: Any, put_dataset: Any, data: bytes, suffix: str, problem: str
) -> None:
    table = await put_dataset(data, suffix)
    body = await expect_error(
        await client.post(VALIDATE, json={"table": table}, headers=ADMIN), 400, "invalid_dataset"
    )
    assert problem in {p["problem"] for p in body["details"]}


async def test_a_csv_the_csv_reader_cannot_parse_is_a_400(client: Any, put_dataset: Any) -> None:
    header = "selection_id,goal_id,yandex_uid,application,conditions,bonus,starts_at,expires_at"
    data = (header + "\r" + "s,g,u,app,{},{},2030-01-01T00:00:00Z,2030-01-02T00:00:00Z\r").encode()
    table = await put_dataset(data, ".csv")
    body = await expect_error(
        await client.post(VALIDATE, json={"table": table}, headers=ADMIN), 400, "invalid_dataset"
    )
    assert body["details"][0]["problem"] == "unreadable"


async def test_a_missing_dataset_is_rejected(client: Any) -> None:
    response = await client.post(
        VALIDATE, json={"table": "s3://goals-datasets/nothing-here.parquet"}, headers=ADMIN
    )
    body = await expect_error(response, 400, "invalid_dataset")
    assert body["details"][0]["problem"] == "unreadable"


@pytest.mark.parametrize("body", [{}, {"table": "/tmp/file.parquet"}, {"table": "s3://x/y", "extra": 1}])
async def test_a_malformed_request_is_a_validation_error(client: Any, body: dict[str, Any]) -> None:
    await expect_error(await client.post(VALIDATE, json=body, headers=ADMIN), 400, "validation_error")


async def test_jsonl_with_nested_objects_and_csv_are_accepted(client: Any, put_dataset: Any) -> None:
    row = goal_row("g1", "u1")
    jsonl_row = {
        **row,
        "conditions": json.loads(row["conditions"]),
        "bonus": json.loads(row["bonus"]),
        "starts_at": row["starts_at"].isoformat(),
        "expires_at": row["expires_at"].isoformat(),
    }
    jsonl = await put_dataset((json.dumps(jsonl_row) + "\n").encode(), ".jsonl")
    header = "selection_id,goal_id,yandex_uid,conditions,bonus,application,starts_at,expires_at\n"
    csv_line = f'sel-1,g2,u2,"{{""type"": ""ride""}}","{{""type"": ""promocode""}}",yandex,{NOW.isoformat()},2099-01-01T00:00:00Z\n'
    csv = await put_dataset((header + csv_line).encode(), ".csv")
    for table in (jsonl, csv):
        body = await expect(
            await client.post(VALIDATE, json={"table": table}, headers=ADMIN), 200, ValidateUploadResponse
        )
        assert body.rows == 1


async def test_a_jsonl_column_of_the_wrong_type_is_named(client: Any, put_dataset: Any) -> None:
    row = {
        **goal_row("g1", "u1"),
        "yandex_uid": 12345,
        "starts_at": "2024-01-01T00:00:00Z",
        "expires_at": "2024-02-01T00:00:00Z",
    }
    table = await put_dataset((json.dumps(row) + "\n").encode(), ".jsonl")
    body = await expect_error(
        await client.post(VALIDATE, json={"table": table}, headers=ADMIN), 400, "invalid_dataset"
    )
    assert [(p["field"], p["problem"]) for p in body["details"]] == [("yandex_uid", "mistyped")]


async def test_a_dataset_whose_selection_upload_started_is_a_conflict(
    client: Any, put_goals: Any, worker: None, upload: Any
) -> None:
    await upload(await put_goals([goal_row("g1", "u1", selection_id="taken")]))
    second = await put_goals(
        [goal_row("g2", "u2", selection_id="taken"), goal_row("g3", "u3", selection_id="free")]
    )
    body = await expect_error(
        await client.post(VALIDATE, json={"table": second}, headers=ADMIN), 409, "upload_already_started"
    )
    assert body["details"] == {"selection_ids": ["taken"]}


async def test_validation_needs_the_admin_scope(client: Any, put_goals: Any) -> None:
    from quintet_testing.http import bearer

    table = await put_goals([goal_row("g1", "u1")])
    await expect_error(await client.post(VALIDATE, json={"table": table}, headers=bearer("goals:read")), 403)
    await expect_error(await client.post(VALIDATE, json={"table": table}), 401)
