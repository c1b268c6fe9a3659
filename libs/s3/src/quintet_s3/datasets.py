"""Datasets in object storage: one Parquet, JSONL or CSV object, or a prefix of part files.

Reading never downloads a whole part up front. Every part is opened as a seekable file whose reads are
HTTP range requests, and pyarrow decodes it in a worker thread (`asyncio.to_thread`) while the event
loop serves those requests. Memory stays bounded by one Parquet row group (or one CSV/JSONL block plus
its read-ahead) whatever the dataset size:

- Parquet: the schema and row counts come from each part's footer (a couple of small range reads per
  part at open); starting at row N skips whole parts and row groups using that metadata, so they are
  never downloaded or decoded.
- CSV / JSONL: the schema is inferred from the first block of the first part (CSV: header + types) and
  then imposed on every part so all chunks share one schema. Row counts are unknown until the data is
  scanned: `num_rows` is None until `count_rows()` (a full read) or a complete iteration; starting at
  row N reads and discards the rows before it, except for parts whose row count is already known.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from quintet_s3.store import ObjectAlreadyExists, ObjectNotFound, ObjectStore

DatasetFormat = Literal["parquet", "jsonl", "csv"]

FORMAT_BY_EXTENSION: dict[str, DatasetFormat] = {
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}
EXTENSION_BY_FORMAT: dict[DatasetFormat, str] = {"parquet": ".parquet", "jsonl": ".jsonl", "csv": ".csv"}
CONTENT_TYPE_BY_FORMAT: dict[DatasetFormat, str] = {
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
}

# pyarrow's CSV/JSON readers infer types from one block; also the granularity of their range reads.
TEXT_BLOCK_SIZE = 4 * 1024 * 1024
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PART_NAME = re.compile(r"^part-(\d+)\.[A-Za-z0-9]+$")
_PART_NAME_RETRIES = 20


class DatasetError(Exception):
    """A dataset address, layout, schema or content is not usable."""


class DatasetNotFound(DatasetError):
    """No object (or no part under the prefix) at the address."""


class DatasetAddress(BaseModel):
    """`s3://bucket/key.ext` (one object) or `s3://bucket/prefix/` (a prefix of part files)."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    @property
    def format(self) -> DatasetFormat | None:
        """The format of a single object; None for a prefix (decided by its parts)."""
        return None if self.is_prefix else format_of_key(self.key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def format_of_key(key: str) -> DatasetFormat | None:
    name = key.rsplit("/", 1)[-1].lower()
    for extension, dataset_format in FORMAT_BY_EXTENSION.items():
        if name.endswith(extension) and len(name) > len(extension):
            return dataset_format
    return None


def parse_dataset_address(text: str) -> DatasetAddress:
    """Parse `s3://bucket/key` or `s3://bucket/prefix/`; raise DatasetError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise DatasetError("dataset address is empty; expected s3://bucket/key or s3://bucket/prefix/")
    text = text.strip()
    if not text.startswith("s3://"):
        raise DatasetError(f"dataset address {text!r} must start with s3://")
    bucket, _, key = text[len("s3://") :].partition("/")
    if not bucket:
        raise DatasetError(f"dataset address {text!r} has no bucket")
    if not _BUCKET_NAME.match(bucket) or ".." in bucket:
        raise DatasetError(
            f"dataset address {text!r}: {bucket!r} is not a valid bucket name "
            "(3-63 lowercase letters, digits, dots or hyphens)"
        )
    if "//" in key or key.startswith("/"):
        raise DatasetError(f"dataset address {text!r} has an empty path segment")
    address = DatasetAddress(bucket=bucket, key=key)
    if not address.is_prefix and address.format is None:
        extensions = ", ".join(FORMAT_BY_EXTENSION)
        raise DatasetError(
            f"dataset address {text!r}: cannot tell the format of {key!r}; "
            f"expected a name ending in {extensions}, or a prefix ending in /"
        )
    return address


def _as_address(address: str | DatasetAddress) -> DatasetAddress:
    return address if isinstance(address, DatasetAddress) else parse_dataset_address(address)


# ---------------------------------------------------------------------------------------------------
# Schema validation


def _type_name(data_type: pa.DataType) -> str:
    return str(data_type)


def validate_schema(
    schema: pa.Schema,
    expected: Mapping[str, pa.DataType | Collection[pa.DataType]],
    *,
    allow_extra: bool = False,
) -> list[str]:
    """Human messages for each missing, extra (unless allowed) or mistyped column; empty when it fits.

    A column's expectation is one type or a collection of accepted types (e.g. {int32, int64}).
    """
    problems: list[str] = []
    actual = {field.name: field.type for field in schema}
    for name, accepted in expected.items():
        accepted_types = [accepted] if isinstance(accepted, pa.DataType) else list(accepted)
        wanted = " or ".join(_type_name(t) for t in accepted_types)
        if name not in actual:
            problems.append(f"missing column '{name}' (expected {wanted})")
        elif not any(actual[name].equals(t) for t in accepted_types):
            problems.append(f"column '{name}': expected {wanted}, got {_type_name(actual[name])}")
    if not allow_extra:
        for name in actual:
            if name not in expected:
                problems.append(f"unexpected column '{name}' ({_type_name(actual[name])})")
    return problems


# ---------------------------------------------------------------------------------------------------
# Range-read file for pyarrow


class _RangeFile(io.RawIOBase):
    """A read-only, seekable file over one object; every read is an HTTP range request.

    pyarrow calls it from worker threads; each read hops onto the event loop (which is free, because
    the coroutine driving pyarrow awaits `asyncio.to_thread`) and waits for the bytes. `read_ahead`
    turns many small sequential reads (CSV/JSONL blocks) into fewer, larger requests.
    """

    def __init__(
        self,
        store: ObjectStore,
        bucket: str,
        key: str,
        size: int,
        loop: asyncio.AbstractEventLoop,
        read_ahead: int = 0,
    ) -> None:
        super().__init__()
        self._store = store
        self._bucket = bucket
        self._key = key
        self._size = size
        self._loop = loop
        self._read_ahead = read_ahead
        self._position = 0
        self._cache_start = 0
        self._cache = b""
        self._lock = threading.Lock()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def read(self, size: int = -1) -> bytes:
        with self._lock:
            start = self._position
            end = self._size if size is None or size < 0 else min(self._size, start + size)
            if start >= end:
                return b""
            cache_end = self._cache_start + len(self._cache)
            if not (self._cache_start <= start and end <= cache_end):
                fetch_end = min(self._size, max(end, start + self._read_ahead))
                self._cache = self._fetch(start, fetch_end)
                self._cache_start = start
            offset = start - self._cache_start
            data = self._cache[offset : offset + (end - start)]
            self._position = start + len(data)
            return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _fetch(self, start: int, end: int) -> bytes:
        future = asyncio.run_coroutine_threadsafe(
            self._store.get_range(self._bucket, self._key, start, end), self._loop
        )
        return future.result()


# ---------------------------------------------------------------------------------------------------
# Parts


@dataclass
class DatasetPart:
    """One object of a dataset. `num_rows` is None until known (always known for Parquet)."""

    key: str
    size: int
    format: DatasetFormat
    num_rows: int | None = None
    parquet_metadata: pq.FileMetaData | None = None


async def _pull(iterator: Iterator[pa.RecordBatch]) -> AsyncIterator[pa.RecordBatch]:
    """Drive a blocking pyarrow batch iterator from a worker thread, one batch at a time."""
    sentinel = object()
    while True:
        batch = await asyncio.to_thread(next, iterator, sentinel)
        if batch is sentinel:
            return
        yield batch


def _text_reader(source: io.RawIOBase, dataset_format: DatasetFormat, schema: pa.Schema | None) -> Any:
    if dataset_format == "csv":
        convert = pa_csv.ConvertOptions(column_types=schema) if schema is not None else None
        return pa_csv.open_csv(
            source,
            read_options=pa_csv.ReadOptions(block_size=TEXT_BLOCK_SIZE, use_threads=False),
            convert_options=convert,
        )
    parse = (
        pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
        if schema is not None
        else None
    )
    return pa_json.open_json(
        source,
        read_options=pa_json.ReadOptions(block_size=TEXT_BLOCK_SIZE, use_threads=False),
        parse_options=parse,
    )


class Dataset:
    """An opened dataset: schema known, parts listed; rows are read on demand by `iter_batches`."""

    def __init__(
        self, store: ObjectStore, address: DatasetAddress, parts: list[DatasetPart], schema: pa.Schema
    ) -> None:
        self.store = store
        self.address = address
        self.parts = parts
        self._schema = schema

    @property
    def format(self) -> DatasetFormat:
        return self.parts[0].format

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    @property
    def num_rows(self) -> int | None:
        """Total rows when known without a scan (always for Parquet); None otherwise, see count_rows."""
        counts = [part.num_rows for part in self.parts]
        if any(count is None for count in counts):
            return None
        return sum(count for count in counts if count is not None)

    async def count_rows(self) -> int:
        """Total rows. Free for Parquet; a full read of every uncounted part for CSV/JSONL (cached)."""
        for part in self.parts:
            if part.num_rows is None:
                rows = 0
                async for batch in self._part_batches(part, 0, 64 * 1024):
                    rows += batch.num_rows
                part.num_rows = rows
        total = self.num_rows
        assert total is not None
        return total

    async def iter_batches(
        self, start_row: int = 0, batch_size: int = 10_000
    ) -> AsyncIterator[tuple[int, pa.Table]]:
        """Consecutive `(first_row_index, table)` chunks of `batch_size` rows (the last may be shorter)
        from `start_row` to the end, across parts in key order. Starting past the end yields nothing."""
        if start_row < 0:
            raise ValueError(f"start_row must be >= 0, got {start_row}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        next_start = start_row
        async for batch in self._batches_from(start_row, batch_size):
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= batch_size:
                table = pa.Table.from_batches(pending, schema=self._schema)
                yield next_start, table.slice(0, batch_size)
                next_start += batch_size
                pending = table.slice(batch_size).to_batches()
                pending_rows -= batch_size
        if pending_rows:
            yield next_start, pa.Table.from_batches(pending, schema=self._schema)

    async def read_all(self) -> pa.Table:
        """The whole dataset in memory: only for datasets known to be small."""
        tables = [table async for _, table in self.iter_batches(batch_size=1 << 20)]
        return pa.concat_tables(tables) if tables else self._schema.empty_table()

    async def _batches_from(self, start_row: int, batch_size: int) -> AsyncIterator[pa.RecordBatch]:
        """Record batches of the dataset from `start_row`, skipping parts whose row count says so."""
        part_start = 0
        for part in self.parts:
            if part.num_rows is not None and part_start + part.num_rows <= start_row:
                part_start += part.num_rows
                continue
            skip = max(0, start_row - part_start)
            async for batch in self._part_batches(part, skip, batch_size):
                yield batch
            assert part.num_rows is not None  # counted by _part_batches when it read the part to the end
            part_start += part.num_rows

    async def _part_batches(
        self, part: DatasetPart, skip: int, batch_size: int
    ) -> AsyncIterator[pa.RecordBatch]:
        """Batches of one part starting at its row `skip`, cast to the dataset schema."""
        loop = asyncio.get_running_loop()
        try:
            if part.format == "parquet":
                iterator = await asyncio.to_thread(self._parquet_iterator, part, skip, batch_size, loop)
                skip = 0  # the iterator already starts at the row
            else:
                iterator = await asyncio.to_thread(self._text_iterator, part, loop)
            seen = 0  # every row of the part read, skipped ones included: its row count at the end
            async for batch in _pull(iterator):
                seen += batch.num_rows
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                if skip:
                    batch = batch.slice(skip)
                    skip = 0
                yield self._conform(batch, part)
            if part.num_rows is None:
                part.num_rows = seen
        except (pa.ArrowException, ValueError) as error:
            raise DatasetError(f"cannot read s3://{self.address.bucket}/{part.key}: {error}") from error

    def _conform(self, batch: pa.RecordBatch, part: DatasetPart) -> pa.RecordBatch:
        if batch.schema.equals(self._schema, check_metadata=False):
            return pa.RecordBatch.from_arrays(batch.columns, schema=self._schema)
        problems = validate_schema(batch.schema, {f.name: f.type for f in self._schema})
        if not problems:  # the same columns and types, in another order or nullability
            columns = [batch.column(name) for name in self._schema.names]
            return pa.RecordBatch.from_arrays(columns, schema=self._schema)
        raise DatasetError(
            f"part s3://{self.address.bucket}/{part.key} does not match the dataset schema: "
            + "; ".join(problems)
        )

    def _parquet_iterator(
        self, part: DatasetPart, skip: int, batch_size: int, loop: asyncio.AbstractEventLoop
    ) -> Iterator[pa.RecordBatch]:
        metadata = part.parquet_metadata
        assert metadata is not None
        first_group = 0
        group_start = 0
        while first_group < metadata.num_row_groups:
            group_rows = metadata.row_group(first_group).num_rows
            if group_start + group_rows > skip:
                break
            group_start += group_rows
            first_group += 1
        if first_group >= metadata.num_row_groups:
            return iter(())
        source = _RangeFile(self.store, self.address.bucket, part.key, part.size, loop)
        parquet_file = pq.ParquetFile(source, metadata=metadata)
        batches = parquet_file.iter_batches(
            batch_size=batch_size,
            row_groups=list(range(first_group, metadata.num_row_groups)),
            use_threads=False,
        )
        return _skip_rows(batches, skip - group_start)

    def _text_iterator(self, part: DatasetPart, loop: asyncio.AbstractEventLoop) -> Iterator[pa.RecordBatch]:
        if part.size == 0:
            return iter(())
        source = _RangeFile(
            self.store, self.address.bucket, part.key, part.size, loop, read_ahead=TEXT_BLOCK_SIZE
        )
        return iter(_text_reader(source, part.format, self._schema))


def _skip_rows(batches: Iterator[pa.RecordBatch], skip: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        yield batch.slice(skip) if skip else batch
        skip = 0


# ---------------------------------------------------------------------------------------------------
# Opening


async def list_dataset_parts(store: ObjectStore, address: str | DatasetAddress) -> list[DatasetPart]:
    """The objects of a dataset in key order (one for an object address; the data parts under a
    prefix, skipping `_*` and `.*` bookkeeping files); DatasetNotFound / DatasetError say why not."""
    address = _as_address(address)
    if not address.is_prefix:
        dataset_format = address.format
        assert dataset_format is not None
        try:
            info = await store.head(address.bucket, address.key)
        except ObjectNotFound as error:
            raise DatasetNotFound(f"dataset {address} not found") from error
        return [DatasetPart(key=address.key, size=info.size, format=dataset_format)]
    try:
        objects = await store.list(address.bucket, address.key)
    except ObjectNotFound as error:
        raise DatasetNotFound(f"dataset {address}: bucket {address.bucket!r} not found") from error
    parts: list[DatasetPart] = []
    unknown: list[str] = []
    for item in sorted(objects, key=lambda o: o.key):
        relative = item.key[len(address.key) :].split("/")
        # Directory markers and bookkeeping files or folders (_SUCCESS, .crc, _temporary/) are not data.
        if not relative[-1] or any(component.startswith(("_", ".")) for component in relative):
            continue
        part_format = format_of_key(item.key)
        if part_format is None:
            unknown.append(item.key)
            continue
        parts.append(DatasetPart(key=item.key, size=item.size, format=part_format))
    if unknown:
        raise DatasetError(f"dataset {address}: parts of unknown format: {', '.join(unknown[:5])}")
    if not parts:
        raise DatasetNotFound(f"dataset {address}: no parts under the prefix")
    formats = sorted({part.format for part in parts})
    if len(formats) > 1:
        raise DatasetError(f"dataset {address}: parts mix formats ({', '.join(formats)}); use one format")
    return parts


async def open_dataset(store: ObjectStore, address: str | DatasetAddress) -> Dataset:
    """List the dataset's parts and learn its schema (Parquet: every footer; CSV/JSONL: first block)."""
    address = _as_address(address)
    parts = await list_dataset_parts(store, address)
    loop = asyncio.get_running_loop()
    dataset_format = parts[0].format
    if dataset_format == "parquet":
        footers = await asyncio.gather(*(_read_parquet_footer(store, address, p, loop) for p in parts))
        schema = footers[0][1].remove_metadata()
        for part, (part_metadata, part_schema) in zip(parts, footers, strict=True):
            part.parquet_metadata = part_metadata
            part.num_rows = part_metadata.num_rows
            problems = (
                []
                if part_schema.equals(schema, check_metadata=False)
                else validate_schema(part_schema, {f.name: f.type for f in schema})
            )
            if problems:  # column order and nullability may differ: reads conform them by name
                raise DatasetError(
                    f"part s3://{address.bucket}/{part.key} does not match the schema of the first part: "
                    + "; ".join(problems)
                )
    else:
        first = next((part for part in parts if part.size > 0), None)
        if first is None:
            raise DatasetError(f"dataset {address}: every part is empty, so it has no schema")
        schema = await asyncio.to_thread(_infer_text_schema, store, address.bucket, first, loop)
        for part in parts:
            if part.size == 0:
                part.num_rows = 0
    return Dataset(store, address, parts, schema)


async def _read_parquet_footer(
    store: ObjectStore, address: DatasetAddress, part: DatasetPart, loop: asyncio.AbstractEventLoop
) -> tuple[pq.FileMetaData, pa.Schema]:
    def read() -> tuple[pq.FileMetaData, pa.Schema]:
        source = _RangeFile(store, address.bucket, part.key, part.size, loop)
        # ParquetFile (not read_metadata) restores the Arrow types stored in the footer, e.g. timestamp[s].
        parquet_file = pq.ParquetFile(source)
        return parquet_file.metadata, parquet_file.schema_arrow

    try:
        return await asyncio.to_thread(read)
    except (pa.ArrowException, ValueError) as error:
        raise DatasetError(
            f"s3://{address.bucket}/{part.key} is not a readable Parquet file: {error}"
        ) from error


def _infer_text_schema(
    store: ObjectStore, bucket: str, part: DatasetPart, loop: asyncio.AbstractEventLoop
) -> pa.Schema:
    source = _RangeFile(store, bucket, part.key, part.size, loop, read_ahead=TEXT_BLOCK_SIZE)
    try:
        schema: pa.Schema = _text_reader(source, part.format, None).schema
    except (pa.ArrowException, ValueError) as error:
        raise DatasetError(f"s3://{bucket}/{part.key} is not readable {part.format}: {error}") from error
    return schema


# ---------------------------------------------------------------------------------------------------
# Writing


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"cannot write {type(value).__name__} to JSONL")


def serialize_table(
    table: pa.Table, dataset_format: DatasetFormat, row_group_size: int | None = None
) -> bytes:
    """Encode a table as one object's bytes (CPU-bound: call it in a thread)."""
    if dataset_format == "parquet":
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, row_group_size=row_group_size)
        return bytes(sink.getvalue().to_pybytes())
    if dataset_format == "csv":
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink)
        return bytes(sink.getvalue().to_pybytes())
    lines = io.StringIO()
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            lines.write(json.dumps(row, default=_json_default, ensure_ascii=False, separators=(",", ":")))
            lines.write("\n")
    return lines.getvalue().encode()


async def write_dataset(
    store: ObjectStore,
    address: str | DatasetAddress,
    table: pa.Table,
    *,
    row_group_size: int | None = None,
) -> DatasetAddress:
    """Write `table` as the single object named by `address` (format from its extension), replacing it."""
    address = _as_address(address)
    dataset_format = address.format
    if dataset_format is None:
        raise DatasetError(f"write_dataset needs an object address, not the prefix {address}")
    data = await asyncio.to_thread(serialize_table, table, dataset_format, row_group_size)
    await store.put(address.bucket, address.key, data, CONTENT_TYPE_BY_FORMAT[dataset_format])
    return address


async def write_dataset_part(
    store: ObjectStore,
    address_prefix: str | DatasetAddress,
    table: pa.Table,
    format: DatasetFormat = "parquet",
    *,
    row_group_size: int | None = None,
) -> DatasetAddress:
    """Append `table` to a prefix as the next `part-NNNNN.<ext>`; returns the new part's address.

    Concurrent writers cannot overwrite each other: the part is created only if absent
    (If-None-Match), and a writer that loses the race takes the next number.
    """
    prefix = _as_address(address_prefix)
    if not prefix.is_prefix:
        raise DatasetError(f"write_dataset_part needs a prefix address ending in /, not {prefix}")
    if format not in EXTENSION_BY_FORMAT:
        raise DatasetError(
            f"unknown dataset format {format!r}; expected one of {', '.join(EXTENSION_BY_FORMAT)}"
        )
    data = await asyncio.to_thread(serialize_table, table, format, row_group_size)
    existing = await store.list(prefix.bucket, prefix.key)
    numbers = [-1]
    for item in existing:
        relative = item.key[len(prefix.key) :]
        existing_format = format_of_key(relative)
        if "/" in relative or existing_format is None:
            continue
        if existing_format != format:
            raise DatasetError(f"dataset {prefix} holds {existing_format} parts; cannot add a {format} part")
        match = _PART_NAME.match(relative)
        if match:
            numbers.append(int(match.group(1)))
    number = max(numbers) + 1
    for _ in range(_PART_NAME_RETRIES):
        key = f"{prefix.key}part-{number:05d}{EXTENSION_BY_FORMAT[format]}"
        try:
            await store.put(prefix.bucket, key, data, CONTENT_TYPE_BY_FORMAT[format], overwrite=False)
        except ObjectAlreadyExists:
            number += 1
            continue
        return DatasetAddress(bucket=prefix.bucket, key=key)
    raise DatasetError(f"dataset {prefix}: could not claim a part name after {_PART_NAME_RETRIES} tries")
