"""Goal rows in one canonical shape, whatever the dataset's format (pure: pyarrow compute, no I/O).

A chunk is a pyarrow table: `row_index` (int64), the goal columns (strings; `conditions`/`bonus` as
JSON text; timestamps as timestamp[us, UTC]) and `error` (why the row is skipped, or null). Row-level
problems never raise: they become the row's `error` and the upload skips the row.

Parquet batches arrive typed (their schema was checked against the goals schema); CSV and JSONL
records arrive as `quintet_s3.TextRecord`s and are turned into string columns here (a JSONL object or
array in a column becomes its JSON text; a value of another JSON type becomes null, and validation
names the column).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from personal_goals.domain.dataset_schema import (
    GOAL_COLUMNS,
    JSON_COLUMNS,
    STRING_COLUMNS,
    TIMESTAMP_COLUMNS,
    SchemaProblem,
    column_name_problems,
    jsonl_type_problems,
)
from personal_goals.domain.upload import MAX_ID_LENGTH, REASON_UNREADABLE_ROW
from quintet_s3 import DatasetFormat, TextRecord

UTC_MICROS = pa.timestamp("us", tz="UTC")
_EARLIEST = pa.scalar(datetime(1, 1, 1, tzinfo=UTC), UTC_MICROS)
_LATEST = pa.scalar(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), UTC_MICROS)
ID_COLUMNS = ("selection_id", "goal_id")  # path parameters of the admin and user endpoints
CANONICAL_SCHEMA = pa.schema(
    [("row_index", pa.int64())]
    + [(name, pa.string()) for name in (*STRING_COLUMNS, *JSON_COLUMNS)]
    + [(name, UTC_MICROS) for name in TIMESTAMP_COLUMNS]
    + [("error", pa.string())]
)


def text_schema_problems(
    dataset_format: DatasetFormat, names: Sequence[str], sample: Sequence[TextRecord]
) -> list[SchemaProblem]:
    """Problems of a CSV (its header `names`) or JSONL dataset (the keys and value types of a sample
    of its first records)."""
    if dataset_format == "csv":
        return column_name_problems(list(names))
    seen: dict[str, set[type]] = {}
    for record in sample:
        for name, value in (record.values or {}).items():
            seen.setdefault(name, set()).add(type(value))
    return column_name_problems(list(seen)) + jsonl_type_problems(seen)


def text_table(records: Sequence[TextRecord]) -> pa.Table:
    """The goal columns of CSV/JSONL records as strings, plus `unreadable` (the record's problem)."""
    columns: dict[str, list[Any]] = {name: [] for name in GOAL_COLUMNS}
    unreadable: list[str | None] = []
    for record in records:
        values = record.values or {}
        for name in GOAL_COLUMNS:
            value = values.get(name)
            if isinstance(value, dict | list):
                value = json.dumps(value)
            elif value is not None and not isinstance(value, str):
                value = None  # a mistyped value; validation names the column
            columns[name].append(value)
        unreadable.append(record.problem and REASON_UNREADABLE_ROW)
    arrays = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    arrays["unreadable"] = pa.array(unreadable, pa.string())
    return pa.table(arrays)


def usable_selection_ids(selection_ids: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    """Rows per usable selection id (rows without one belong to no selection: the upload skips them
    as malformed, so no selection is created for them)."""
    counts: dict[str, int] = {}
    for entry in pc.value_counts(pc.cast(selection_ids, pa.string())).to_pylist():
        if _usable_selection_id(entry["values"]):
            counts[entry["values"]] = entry["counts"]
    return counts


def _parse_timestamps(values: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """ISO-8601 strings → (timestamps, unparseable mask); naive values are UTC."""
    parsed: list[datetime | None] = []
    bad: list[bool] = []
    for text in values.to_pylist():
        if text is None:
            parsed.append(None)
            bad.append(False)
            continue
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            parsed.append(None)
            bad.append(True)
            continue
        parsed.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        bad.append(False)
    return pa.array(parsed, UTC_MICROS), pa.array(bad, pa.bool_())


# -- normalisation into the canonical chunk -----------------------------------------------------


def _json_object_mask(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """True where a non-null value is not a JSON object PostgreSQL's jsonb accepts. Parses each
    distinct value once: goal datasets repeat a few condition/bonus shapes across millions of rows."""
    distinct = pc.unique(values).drop_null()
    invalid = [text for text in distinct.to_pylist() if not _storable_json_object(text)]
    return pc.is_in(values, value_set=pa.array(invalid, pa.string()))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _storable_json_object(text: str) -> bool:
    """A JSON object without what Python's parser tolerates but jsonb refuses: NaN/Infinity, the
    NUL character and unpaired surrogates."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return False
    if not isinstance(value, dict):
        return False
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _usable_selection_id(selection_id: str | None) -> bool:
    """What canonical_chunk lets through: present and not blank, no NUL, at most MAX_ID_LENGTH."""
    if not selection_id or not selection_id.strip():
        return False
    return "\x00" not in selection_id and len(selection_id) <= MAX_ID_LENGTH


def _missing(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    if pa.types.is_timestamp(values.type):
        return pc.is_null(values)
    return pc.or_kleene(pc.is_null(values), pc.equal(pc.utf8_trim_whitespace(values), "")).fill_null(True)


def canonical_chunk(raw: pa.Table, first_row_index: int, fmt: DatasetFormat) -> pa.Table:
    """`raw`: a Parquet batch (typed) or a `text_table`; returns the canonical chunk."""
    rows = raw.num_rows
    columns: dict[str, Any] = {
        "row_index": pa.array(range(first_row_index, first_row_index + rows), pa.int64())
    }
    checks: list[tuple[pa.Array, str]] = []  # in priority order: the first failing check names the row
    if "unreadable" in raw.column_names:
        checks.append((pc.is_valid(raw.column("unreadable")), REASON_UNREADABLE_ROW))
    for name in (*STRING_COLUMNS, *JSON_COLUMNS):
        column = pc.cast(raw.column(name), pa.string())
        columns[name] = column
        checks.append((_missing(column), f"missing_field:{name}"))
        # PostgreSQL text cannot hold NUL; the COPY of the whole chunk would fail on one such value.
        nul = pc.fill_null(pc.match_substring(column, "\x00"), False)
        checks.append((nul, f"invalid_text:{name}"))
        columns[name] = pc.if_else(nul, pa.scalar(None, pa.string()), column)
    for name in ID_COLUMNS:
        too_long = pc.fill_null(pc.greater(pc.utf8_length(columns[name]), MAX_ID_LENGTH), False)
        checks.append((too_long, f"too_long:{name}"))
    for name in JSON_COLUMNS:
        invalid = _json_object_mask(columns[name])
        checks.append((invalid, f"invalid_json:{name}"))
        # The staging column is jsonb: an unparseable value must not reach COPY.
        columns[name] = pc.if_else(invalid, pa.scalar(None, pa.string()), columns[name])
    for name in TIMESTAMP_COLUMNS:
        source = raw.column(name)
        if fmt == "parquet":
            if source.type.tz is None:
                source = pc.cast(source, pa.timestamp(source.type.unit))
                source = pc.assume_timezone(source, "UTC")
            timestamps = pc.cast(source, UTC_MICROS, safe=False)
            checks.append((_missing(timestamps), f"missing_field:{name}"))
            # Years 1..9999, as for text datasets (PostgreSQL and the CSV for COPY need a range).
            out_of_range = pc.fill_null(
                pc.or_(pc.less(timestamps, _EARLIEST), pc.greater(timestamps, _LATEST)), False
            )
            checks.append((out_of_range, f"invalid_timestamp:{name}"))
            timestamps = pc.if_else(out_of_range, pa.scalar(None, UTC_MICROS), timestamps)
        else:
            checks.append((_missing(source), f"missing_field:{name}"))
            timestamps, unparseable = _parse_timestamps(source)
            checks.append((unparseable, f"invalid_timestamp:{name}"))
        columns[name] = timestamps
    error = pa.nulls(rows, pa.string())
    for mask, reason in reversed(checks):
        error = pc.if_else(mask, pa.scalar(reason, pa.string()), error)
    columns["error"] = error
    return pa.table({name: columns[name] for name in CANONICAL_SCHEMA.names}, schema=CANONICAL_SCHEMA)
