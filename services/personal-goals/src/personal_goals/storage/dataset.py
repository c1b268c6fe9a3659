"""Reading a goals dataset (`s3://bucket/key.ext` or a prefix `s3://bucket/dir/` of part files).

Addresses, formats and the part listing are the platform's (`quintet_s3`). The rows are decoded
here rather than by `quintet_s3.open_dataset`, on purpose: an upload must load every good row and
report every bad one, while the lib's typed reader rejects a whole part when one value does not fit
its schema (a JSONL line with a number where a string belongs, a CSV cell that is not a timestamp).
So CSV and JSONL are read as text and checked per row, and Parquet row groups are read as they are.

A chunk is a pyarrow table in one canonical shape whatever the source format:
`row_index` (int64), the goal columns (strings; `conditions`/`bonus` as JSON text; timestamps as
timestamp[us, UTC]) and `error` (why the row is malformed, or null). Row-level problems never raise:
they become the row's `error` and the row is skipped by the upload.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from personal_goals.domain.dataset_schema import (
    GOAL_COLUMNS,
    JSON_COLUMNS,
    STRING_COLUMNS,
    TIMESTAMP_COLUMNS,
    SchemaProblem,
    arrow_schema_problems,
    column_name_problems,
    jsonl_type_problems,
)
from personal_goals.domain.upload import MAX_ID_LENGTH
from quintet_s3 import (
    DatasetError,
    DatasetFormat,
    ObjectStore,
    ObjectStoreError,
    list_dataset_parts,
    parse_dataset_address,
)

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


class DatasetUnreadable(Exception):
    """The address is malformed, nothing is stored there, or the stored bytes cannot be parsed."""


@dataclass
class _Part:
    key: str
    fmt: DatasetFormat
    data: bytes
    # Decoded lazily: Parquet keeps its compressed bytes and reads column/row-group subsets.
    _parquet: pq.ParquetFile | None = None
    _text_table: pa.Table | None = None
    _jsonl_types: dict[str, set[type]] = field(default_factory=dict)
    _names: list[str] = field(default_factory=list)

    def parquet(self) -> pq.ParquetFile:
        if self._parquet is None:
            self._parquet = pq.ParquetFile(io.BytesIO(self.data))
        return self._parquet

    def text_table(self) -> pa.Table:
        """CSV/JSONL decoded into string columns (+ JSON text); small formats, decoded once."""
        if self._text_table is None:
            if self.fmt == "csv":
                self._text_table, self._names = _read_csv(self.data)
            else:
                self._text_table, self._names, self._jsonl_types = _read_jsonl(self.data)
        return self._text_table

    def schema_problems(self) -> list[SchemaProblem]:
        if self.fmt == "parquet":
            return arrow_schema_problems(self.parquet().schema_arrow)
        self.text_table()
        problems = column_name_problems(self._names)
        if self.fmt == "jsonl":
            problems += jsonl_type_problems(self._jsonl_types)
        return problems

    @property
    def num_rows(self) -> int:
        if self.fmt == "parquet":
            return int(self.parquet().metadata.num_rows)
        return int(self.text_table().num_rows)

    def selection_ids(self) -> pa.ChunkedArray:
        if self.fmt == "parquet":
            column = self.parquet().read(columns=["selection_id"]).column("selection_id")
            return column.cast(pa.string())
        return self.text_table().column("selection_id")

    def pieces(self, start: int) -> Iterator[tuple[int, pa.Table]]:
        """(offset within the part, raw table) from row `start`, one row group at a time for Parquet."""
        if self.fmt != "parquet":
            yield start, self.text_table().slice(start)
            return
        parquet = self.parquet()
        offset = 0
        for group in range(parquet.num_row_groups):
            rows = parquet.metadata.row_group(group).num_rows
            if offset + rows > start:
                skip = max(0, start - offset)
                yield offset + skip, parquet.read_row_group(group, columns=list(GOAL_COLUMNS)).slice(skip)
            offset += rows


class GoalsDataset:
    """The parts of one dataset, in key order; row indexes run across parts."""

    def __init__(self, table: str, parts: list[_Part]) -> None:
        self.table = table
        self.parts = parts

    def schema_problems(self) -> list[SchemaProblem]:
        seen: dict[tuple[str, str], SchemaProblem] = {}
        for part in self.parts:
            try:
                problems = part.schema_problems()
            except (pa.ArrowException, ValueError, UnicodeDecodeError, csv.Error) as exc:
                raise DatasetUnreadable(f"{part.key}: cannot be read as {part.fmt}: {exc}") from exc
            for problem in problems:
                seen.setdefault((problem.column, problem.problem), problem)
        return list(seen.values())

    @property
    def num_rows(self) -> int:
        return sum(part.num_rows for part in self.parts)

    def selection_rows(self) -> dict[str, int]:
        """Rows per selection (rows without a usable selection id are counted in no selection: the
        upload skips them as malformed, so no selection is created for them)."""
        counts: Counter[str] = Counter()
        for part in self.parts:
            for entry in pc.value_counts(part.selection_ids()).to_pylist():
                selection_id = entry["values"]
                if _usable_selection_id(selection_id):
                    counts[selection_id] += entry["counts"]
        return dict(sorted(counts.items()))

    def chunks(self, start_row: int, chunk_size: int) -> Iterator[pa.Table]:
        """Canonical chunks of at most `chunk_size` rows from dataset row `start_row` on."""
        base = 0
        for part in self.parts:
            rows = part.num_rows
            if base + rows > start_row:
                for offset, piece in part.pieces(max(0, start_row - base)):
                    for begin in range(0, piece.num_rows, chunk_size):
                        raw = piece.slice(begin, chunk_size)
                        yield canonical_chunk(raw, base + offset + begin, part.fmt)
            base += rows


async def load_dataset(s3: Any, table: str) -> GoalsDataset:
    """Fetch the object (or every part under the prefix) of `table`.

    The compressed bytes are held in memory; decoding is lazy and column/row-group selective for
    Parquet, so validation never materialises the whole table.
    """
    store = ObjectStore(s3)
    try:
        address = parse_dataset_address(table)
        # An empty object has no rows (and is no valid Parquet file): it adds nothing.
        listed = [part for part in await list_dataset_parts(store, address) if part.size > 0]
        # One request per part, all in flight at once over the shared client (not one after another).
        blobs = await asyncio.gather(*(store.get(address.bucket, part.key) for part in listed))
        parts = [_Part(part.key, part.format, blob) for part, blob in zip(listed, blobs, strict=True)]
    except DatasetError as exc:
        raise DatasetUnreadable(str(exc)) from exc
    except ObjectStoreError as exc:
        raise DatasetUnreadable(f"{table}: cannot be read: {exc}") from exc
    return GoalsDataset(table, parts)


# -- CSV / JSONL decoding (small, untyped formats: decoded in Python once) ---------------------


def _read_csv(data: bytes) -> tuple[pa.Table, list[str]]:
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    header = next(reader, None)
    if header is None:
        return pa.table({name: pa.array([], pa.string()) for name in GOAL_COLUMNS}), []
    names = [name.strip() for name in header]
    columns: dict[str, list[str | None]] = {name: [] for name in names}
    for record in reader:
        if not record:
            continue
        for index, name in enumerate(names):
            value = record[index] if index < len(record) else None
            columns[name].append(value if value != "" else None)
    return _string_table(columns, names), names


def _read_jsonl(data: bytes) -> tuple[pa.Table, list[str], dict[str, set[type]]]:
    names: list[str] = []
    columns: dict[str, list[Any]] = {}
    types: dict[str, set[type]] = {}
    rows = 0
    for line_number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except ValueError as exc:
            raise DatasetUnreadable(f"line {line_number} is not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise DatasetUnreadable(f"line {line_number} is not a JSON object")
        for name, value in document.items():
            if name not in columns:
                names.append(name)
                columns[name] = [None] * rows
                types[name] = set()
            types[name].add(type(value))
        for name in names:
            value = document.get(name)
            if isinstance(value, dict | list):
                value = json.dumps(value)
            elif value is not None and not isinstance(value, str):
                value = None  # a mistyped value; validation names the column
            columns[name].append(value)
        rows += 1
    return _string_table(columns, names), names, types


def _string_table(columns: dict[str, list[Any]], names: list[str]) -> pa.Table:
    arrays = {name: pa.array(columns.get(name, []), pa.string()) for name in names}
    if not names:
        return pa.table({name: pa.array([], pa.string()) for name in GOAL_COLUMNS})
    rows = len(next(iter(arrays.values())))
    for name in GOAL_COLUMNS:
        arrays.setdefault(name, pa.nulls(rows, pa.string()))
    return pa.table(arrays)


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
    rows = raw.num_rows
    columns: dict[str, Any] = {
        "row_index": pa.array(range(first_row_index, first_row_index + rows), pa.int64())
    }
    checks: list[tuple[pa.Array, str]] = []  # in priority order: the first failing check names the row
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
