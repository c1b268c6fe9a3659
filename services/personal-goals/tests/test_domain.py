"""Pure rules, without I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from personal_goals.domain.dataset_schema import arrow_schema_problems, column_name_problems
from personal_goals.domain.errors import DatasetInvalid, NoUser, ReadingOthersGoalsForbidden
from personal_goals.domain.goal_reads import goals_reader
from personal_goals.domain.goal_rows import canonical_chunk
from personal_goals.domain.overlaps import overlap_losers
from personal_goals.domain.upload import overall_status, selection_status_after
from personal_goals.usecases.goals_dataset import inspect_dataset
from quintet_s3 import DatasetPolicy


@pytest.mark.parametrize(
    ("upload_status", "skipped", "expected"),
    [
        ("pending", 0, "in_progress"),
        ("in_progress", 3, "in_progress"),
        ("complete", 0, "complete"),
        ("complete", 1, "partially_completed"),
        ("failed", 0, "failed"),
        ("cancelled", 2, "cancelled"),
    ],
)
def test_overall_status(upload_status: str, skipped: int, expected: str) -> None:
    assert overall_status(upload_status, skipped) == expected


@pytest.mark.parametrize(
    ("total", "loaded", "skipped", "expected"),
    [(10, 0, 0, "pending"), (10, 4, 1, "in_progress"), (10, 9, 1, "complete")],
)
def test_selection_status_after_a_chunk(total: int, loaded: int, skipped: int, expected: str) -> None:
    assert selection_status_after(total, loaded, skipped) == expected


def test_naive_and_nanosecond_parquet_timestamps_are_read_as_utc() -> None:
    names = ["selection_id", "goal_id", "yandex_uid", "application", "conditions", "bonus"]
    raw = pa.table(
        {name: pa.array(["{}" if name in ("conditions", "bonus") else "x"]) for name in names}
        | {
            "starts_at": pa.array([1_700_000_000_123_456_789], pa.timestamp("ns")),
            "expires_at": pa.array([1_800_000_000_000_000], pa.timestamp("us", tz="Europe/Moscow")),
        }
    )
    chunk = canonical_chunk(raw, 7, "parquet")
    assert chunk.column("row_index").to_pylist() == [7]
    assert chunk.column("starts_at").to_pylist()[0].isoformat() == "2023-11-14T22:13:20.123456+00:00"
    assert chunk.column("error").to_pylist() == [None]


def test_parquet_timestamps_outside_years_1_to_9999_make_the_row_malformed() -> None:
    names = ["selection_id", "goal_id", "yandex_uid", "application", "conditions", "bonus"]
    year_20000 = 568_000_000_000 * 1_000_000  # microseconds since 1970: about year 19969
    raw = pa.table(
        {name: pa.array(["{}" if name in ("conditions", "bonus") else "x"] * 2) for name in names}
        | {
            "starts_at": pa.array([0, 0], pa.timestamp("us", tz="UTC")),
            "expires_at": pa.array([year_20000, 86_400_000_000], pa.timestamp("us", tz="UTC")),
        }
    )
    chunk = canonical_chunk(raw, 0, "parquet")
    assert chunk.column("error").to_pylist() == ["invalid_timestamp:expires_at", None]


def test_a_typed_schema_names_every_problem() -> None:
    schema = pa.schema([("goal_id", pa.int64()), ("surplus", pa.string())])
    problems = {(p.column, p.problem) for p in arrow_schema_problems(schema)}
    assert ("goal_id", "mistyped") in problems and ("surplus", "unexpected") in problems
    assert ("bonus", "missing") in problems


def test_column_names_in_any_order_are_accepted() -> None:
    names = [
        "expires_at",
        "starts_at",
        "application",
        "bonus",
        "conditions",
        "yandex_uid",
        "goal_id",
        "selection_id",
    ]
    assert column_name_problems(names) == []


@pytest.mark.parametrize(
    "address",
    ["goals.parquet", "s3://goals-datasets/goals", "s3:///key", "http://x/y", "s3://Bad_Bucket/a.csv"],
)
async def test_a_malformed_address_is_unreadable(s3: Any, address: str) -> None:
    with pytest.raises(DatasetInvalid) as raised:
        await inspect_dataset(s3, address, DatasetPolicy(allowed=("goals-datasets",)))
    assert [d["problem"] for d in raised.value.details] == ["unreadable"]


T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Row:
    row_index: int
    starts: int  # days after T0
    ends: int
    owner: tuple[str, str] = ("u1", "app")

    @property
    def starts_at(self) -> datetime:
        return T0 + self.starts * DAY

    @property
    def expires_at(self) -> datetime:
        return T0 + self.ends * DAY


@pytest.mark.parametrize(
    ("rows", "losers"),
    [
        ([Row(0, 0, 4), Row(1, 3, 7), Row(2, 6, 9)], [1]),  # A overlaps B overlaps C: B only
        ([Row(0, 0, 4), Row(1, 4, 8)], []),  # touching periods do not overlap
        ([Row(0, 5, 9), Row(1, 0, 6), Row(2, 8, 12)], [1, 2]),  # the earlier row wins, not the earlier period
        ([Row(1, 3, 7), Row(0, 0, 4)], [1]),  # decided by row index, whatever the input order
        ([Row(0, 0, 4), Row(1, 1, 2, ("u2", "app")), Row(2, 1, 2, ("u1", "uber"))], []),  # other owners
        ([Row(0, 0, 10), Row(1, 2, 3), Row(2, 10, 11), Row(3, 9, 10)], [1, 3]),
    ],
    ids=["chain-of-three", "touching", "earlier-row-wins", "row-order", "other-owners", "inside-and-before"],
)
def test_a_row_loads_unless_it_overlaps_an_earlier_loaded_row(rows: list[Row], losers: list[int]) -> None:
    assert overlap_losers(rows) == losers


def test_a_chain_of_overlaps_loads_every_other_row() -> None:
    chain = [Row(i, i, i + 2) for i in range(10_000)]  # each overlaps the next
    assert overlap_losers(chain) == list(range(1, 10_000, 2))


@pytest.mark.parametrize(
    ("sub", "scopes", "named", "reader"),
    [
        ("u1", {"goals:read"}, None, "u1"),
        ("u1", {"goals:read"}, "u1", "u1"),
        ("u1", {"goals:read"}, "u2", ReadingOthersGoalsForbidden),
        ("backend", {"goals:read-any"}, "u2", "u2"),
        (" ", {"goals:read"}, None, NoUser),
    ],
    ids=["token-subject", "names-self", "names-another", "read-any-names-a-user", "no-subject"],
)
def test_the_goals_reader_is_the_token_subject_unless_a_read_any_token_names_one(
    sub: str, scopes: set[str], named: str | None, reader: Any
) -> None:
    if isinstance(reader, str):
        assert goals_reader(sub, frozenset(scopes), named) == reader
    else:
        with pytest.raises(reader):
            goals_reader(sub, frozenset(scopes), named)
