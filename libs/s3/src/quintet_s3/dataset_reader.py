"""Reading datasets with memory bounded whatever their size.

`open_dataset` checks the address against the service's `DatasetPolicy`, lists the parts (stopping as
soon as a limit is passed) and, for Parquet, reads every part's footer (a few small range reads).
`Dataset.iter_batches` then streams rows from any position:

- Parquet: one row group at a time through HTTP range requests (pyarrow decodes in a worker thread
  while the event loop serves those requests); starting at row N skips parts and row groups by their
  metadata. Batches are Arrow tables with the file's own types.
- CSV / JSONL: blocks of `TEXT_BLOCK_SIZE` bytes by range requests, decoded record by record, so one
  bad record is one `TextRecord` with a `problem`, not a failed dataset. Every batch says where the
  next one starts (`DatasetBatch.next`, a byte offset), so a reader that keeps it resumes without
  re-reading; from a bare row number the earlier records are read and discarded.

Error messages name the part and the row or line, never the bytes found there.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from quintet_s3.dataset_address import (
    DatasetAddress,
    DatasetError,
    DatasetFormat,
    DatasetNotFound,
    DatasetPolicy,
    DatasetTooLarge,
    as_address,
    format_of_key,
)
from quintet_s3.store import ObjectNotFound, ObjectStore, ObjectStoreError

TEXT_BLOCK_SIZE = 1024 * 1024
# A CSV record or JSONL line longer than this fails the dataset (it would otherwise be buffered whole).
MAX_RECORD_BYTES = 8 * 1024 * 1024
# Deeper JSON is a record problem: Python's parser recurses, and PostgreSQL's jsonb has a stack limit.
MAX_JSON_DEPTH = 64


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
    actual = {f.name: f.type for f in schema}
    for name, accepted in expected.items():
        accepted_types = [accepted] if isinstance(accepted, pa.DataType) else list(accepted)
        wanted = " or ".join(str(t) for t in accepted_types)
        if name not in actual:
            problems.append(f"missing column '{name}' (expected {wanted})")
        elif not any(actual[name].equals(t) for t in accepted_types):
            problems.append(f"column '{name}': expected {wanted}, got {actual[name]}")
    if not allow_extra:
        problems += [
            f"unexpected column '{name}' ({t})" for name, t in actual.items() if name not in expected
        ]
    return problems


# ---------------------------------------------------------------------------------------------------
# Parts and positions


@dataclass
class DatasetPart:
    """One object of a dataset. `num_rows` is None until known (always known for Parquet)."""

    key: str
    size: int
    format: DatasetFormat
    num_rows: int | None = None
    parquet_metadata: pq.FileMetaData | None = None


@dataclass(frozen=True)
class DatasetPosition:
    """Where a read starts: dataset row `row`, which is row `part_row` of part number `part`; for
    CSV/JSONL `byte` is where that row's record starts in the part (None: find it by reading)."""

    row: int = 0
    part: int = 0
    part_row: int = 0
    byte: int | None = None


@dataclass(frozen=True)
class TextRecord:
    """One CSV record or JSONL line: its values by column name (CSV: strings, an empty cell is None;
    JSONL: the decoded object), or None with the `problem` that kept it from being read."""

    values: dict[str, Any] | None
    problem: str | None = None


@dataclass(frozen=True)
class DatasetBatch:
    first_row: int
    table: pa.Table | None  # Parquet
    records: list[TextRecord] | None  # CSV / JSONL
    next: DatasetPosition  # where the batch after this one starts

    @property
    def num_rows(self) -> int:
        if self.table is not None:
            return int(self.table.num_rows)
        return len(self.records or ())


class _RangeFile(io.RawIOBase):
    """A read-only, seekable file over one object for pyarrow; every read is an HTTP range request.

    pyarrow calls it from a worker thread; each read hops onto the event loop (free, because the
    coroutine driving pyarrow awaits `asyncio.to_thread`) and waits for the bytes.
    """

    def __init__(
        self, store: ObjectStore, bucket: str, key: str, size: int, loop: asyncio.AbstractEventLoop
    ) -> None:
        super().__init__()
        self._store, self._bucket, self._key, self._size, self._loop = store, bucket, key, size, loop
        self._position = 0
        self._lock = threading.Lock()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def read(self, size: int = -1) -> bytes:
        with self._lock:
            start = self._position
            end = self._size if size is None or size < 0 else min(self._size, start + size)
            if start >= end:
                return b""
            future = asyncio.run_coroutine_threadsafe(
                self._store.get_range(self._bucket, self._key, start, end), self._loop
            )
            data = future.result()
            self._position = start + len(data)
            return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# ---------------------------------------------------------------------------------------------------
# Listing and opening


async def list_dataset_parts(
    store: ObjectStore, address: str | DatasetAddress, policy: DatasetPolicy | None = None
) -> list[DatasetPart]:
    """The objects of a dataset in key order (one for an object address; the data parts under a
    prefix, skipping `_*` and `.*` bookkeeping files), within the policy's buckets and size limits.

    Without a policy (trusted callers: configured addresses, tests, stand-ins) any bucket is read,
    within the default limits. A service reading an address a request names passes its policy."""
    address = as_address(address)
    policy = policy or DatasetPolicy(allowed=(address.bucket,))
    policy.check(address)
    try:
        if not address.is_prefix:
            dataset_format = address.format
            assert dataset_format is not None
            info = await store.head(address.bucket, address.key)
            parts = [DatasetPart(key=address.key, size=info.size, format=dataset_format)]
        else:
            parts = await _prefix_parts(store, address, policy)
    except ObjectNotFound as error:
        what = "not found" if error.key is not None else f"bucket {address.bucket!r} not found"
        raise DatasetNotFound(f"dataset {address}: {what}") from error
    except ObjectStoreError as error:
        raise DatasetError(str(error)) from error
    if not parts:
        raise DatasetNotFound(f"dataset {address}: no parts under the prefix")
    if len(parts) > policy.max_parts:
        raise DatasetTooLarge(
            f"dataset {address} has more than {policy.max_parts} parts (limit max_parts)", "max_parts"
        )
    total = sum(part.size for part in parts)
    if total > policy.max_bytes:
        raise DatasetTooLarge(
            f"dataset {address} holds {total} bytes, more than {policy.max_bytes} (limit max_bytes)",
            "max_bytes",
        )
    formats = sorted({part.format for part in parts})
    if len(formats) > 1:
        raise DatasetError(f"dataset {address}: parts mix formats ({', '.join(formats)}); use one format")
    return parts


async def _prefix_parts(
    store: ObjectStore, address: DatasetAddress, policy: DatasetPolicy
) -> list[DatasetPart]:
    # Listing stops past the limit: a prefix of a million objects is refused after a page or two.
    objects = await store.list(address.bucket, address.key, max_objects=policy.max_parts)
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
    return parts


async def open_dataset(
    store: ObjectStore, address: str | DatasetAddress, policy: DatasetPolicy | None = None
) -> Dataset:
    """List the parts (see `list_dataset_parts`); for Parquet also read every footer (schema, row
    counts). Empty objects are parts without rows."""
    address = as_address(address)
    parts = [part for part in await list_dataset_parts(store, address, policy) if part.size > 0]
    schema: pa.Schema | None = None
    if parts and parts[0].format == "parquet":
        loop = asyncio.get_running_loop()
        footers = await asyncio.gather(*(_read_footer(store, address.bucket, part, loop) for part in parts))
        schema = footers[0][1]
        for part, (metadata, part_schema) in zip(parts, footers, strict=True):
            part.parquet_metadata = metadata
            part.num_rows = metadata.num_rows
            problems = validate_schema(part_schema, {f.name: f.type for f in schema})
            if problems:  # column order may differ: reads select columns by name
                raise DatasetError(
                    f"part s3://{address.bucket}/{part.key} does not match the schema of the first part: "
                    + "; ".join(problems)
                )
    return Dataset(store, address, parts, schema)


async def _read_footer(
    store: ObjectStore, bucket: str, part: DatasetPart, loop: asyncio.AbstractEventLoop
) -> tuple[pq.FileMetaData, pa.Schema]:
    def read() -> tuple[pq.FileMetaData, pa.Schema]:
        # ParquetFile (not read_metadata) restores the Arrow types stored in the footer, e.g. timestamp[s].
        parquet_file = pq.ParquetFile(_RangeFile(store, bucket, part.key, part.size, loop))
        return parquet_file.metadata, parquet_file.schema_arrow.remove_metadata()

    try:
        return await asyncio.to_thread(read)
    except ObjectStoreError as error:
        raise DatasetError(str(error)) from error
    except (pa.ArrowException, ValueError, OSError) as error:
        raise DatasetError(f"s3://{bucket}/{part.key} is not a readable Parquet file") from error


# ---------------------------------------------------------------------------------------------------
# The dataset


class Dataset:
    """An opened dataset: parts listed (Parquet: footers read); rows are read on demand."""

    def __init__(
        self, store: ObjectStore, address: DatasetAddress, parts: list[DatasetPart], schema: pa.Schema | None
    ) -> None:
        self.store = store
        self.address = address
        self.parts = parts
        self.schema = schema  # Parquet only: text formats have no schema until read
        self._csv_headers: dict[str, tuple[list[str], int]] = {}

    @property
    def format(self) -> DatasetFormat | None:
        """None when every part is empty."""
        return self.parts[0].format if self.parts else None

    @property
    def num_rows(self) -> int | None:
        """Total rows when known without a scan (always for Parquet)."""
        counts = [part.num_rows for part in self.parts]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)

    async def csv_columns(self) -> list[str]:
        """The header of the first part (CSV only)."""
        return (await self._csv_header(self.parts[0]))[0] if self.parts else []

    async def iter_batches(
        self,
        start: int | DatasetPosition = 0,
        batch_rows: int = 10_000,
        *,
        columns: Sequence[str] | None = None,
    ) -> AsyncIterator[DatasetBatch]:
        """Consecutive batches of at most `batch_rows` rows from `start` to the end, part after part
        in key order (a batch never spans two parts). Parquet: only `columns` (all by default) are
        read."""
        if batch_rows <= 0:
            raise ValueError(f"batch_rows must be > 0, got {batch_rows}")
        position = start if isinstance(start, DatasetPosition) else self._locate(start)
        wanted = position.row  # the next row to yield
        part_first_row = position.row - position.part_row
        for index in range(position.part, len(self.parts)):
            part = self.parts[index]
            if index > position.part:
                position = DatasetPosition(row=wanted, part=index, part_row=wanted - part_first_row)
            if part.num_rows is None or position.part_row < part.num_rows:
                try:
                    if part.format == "parquet":
                        batches = self._parquet_batches(part, position, batch_rows, columns)
                    else:
                        batches = self._text_batches(part, position, batch_rows)
                    async for batch in batches:
                        wanted = batch.next.row
                        yield batch
                except ObjectNotFound as error:
                    raise DatasetError(
                        f"part s3://{self.address.bucket}/{part.key} disappeared while it was read"
                    ) from error
                except ObjectStoreError as error:
                    raise DatasetError(str(error)) from error
            assert part.num_rows is not None  # Parquet: from the footer; text: counted by the read
            part_first_row += part.num_rows

    async def read_all(self) -> pa.Table:
        """The whole dataset as one table (text records as their values; unreadable ones left out):
        only for datasets known to be small."""
        tables: list[pa.Table] = []
        async for batch in self.iter_batches(0, 100_000):
            if batch.table is not None:
                tables.append(batch.table)
            else:
                tables.append(pa.Table.from_pylist([r.values for r in batch.records or [] if r.values]))
        if not tables:
            return self.schema.empty_table() if self.schema is not None else pa.table({})
        return pa.concat_tables(tables, promote_options="default")

    def _locate(self, row: int) -> DatasetPosition:
        """The part holding `row`, as far as row counts are known (else the first uncounted part)."""
        if row < 0:
            raise ValueError(f"start row must be >= 0, got {row}")
        first = 0
        for index, part in enumerate(self.parts):
            if part.num_rows is None or first + part.num_rows > row:
                return DatasetPosition(row=row, part=index, part_row=row - first)
            first += part.num_rows
        return DatasetPosition(row=row, part=len(self.parts))

    # -- Parquet ------------------------------------------------------------------------------------

    async def _parquet_batches(
        self, part: DatasetPart, position: DatasetPosition, batch_rows: int, columns: Sequence[str] | None
    ) -> AsyncIterator[DatasetBatch]:
        metadata = part.parquet_metadata
        assert metadata is not None
        loop = asyncio.get_running_loop()
        part_index = self.parts.index(part)
        row, part_row = position.row, position.part_row
        pending: list[pa.Table] = []  # rows read but not yielded yet: less than one batch
        pending_rows = 0
        group_start = 0
        for group in range(metadata.num_row_groups):
            group_rows = metadata.row_group(group).num_rows
            if group_start + group_rows <= position.part_row:
                group_start += group_rows
                continue
            table = await self._read_row_group(part, group, columns, loop)
            pending.append(table.slice(max(0, position.part_row - group_start)))
            pending_rows += pending[-1].num_rows
            group_start += group_rows
            while pending_rows >= batch_rows or (pending_rows and group == metadata.num_row_groups - 1):
                combined = pa.concat_tables(pending)
                piece = combined.slice(0, batch_rows)
                part_row += piece.num_rows
                next_position = DatasetPosition(row=row + piece.num_rows, part=part_index, part_row=part_row)
                yield DatasetBatch(row, piece, None, next_position)
                row = next_position.row
                pending = [combined.slice(piece.num_rows)]
                pending_rows -= piece.num_rows

    async def _read_row_group(
        self, part: DatasetPart, group: int, columns: Sequence[str] | None, loop: asyncio.AbstractEventLoop
    ) -> pa.Table:
        def read() -> pa.Table:
            source = _RangeFile(self.store, self.address.bucket, part.key, part.size, loop)
            parquet_file = pq.ParquetFile(source, metadata=part.parquet_metadata)
            return parquet_file.read_row_group(
                group, columns=list(columns) if columns else None, use_threads=False
            )

        try:
            return await asyncio.to_thread(read)
        except ObjectStoreError:
            raise
        except (pa.ArrowException, ValueError, OSError) as error:
            raise DatasetError(
                f"s3://{self.address.bucket}/{part.key}: row group {group} cannot be read as Parquet"
            ) from error

    # -- CSV / JSONL --------------------------------------------------------------------------------

    async def _csv_header(self, part: DatasetPart) -> tuple[list[str], int]:
        """(column names, byte where the first record starts) of a CSV part."""
        if part.key not in self._csv_headers:
            data = await self.store.get_range(
                self.address.bucket, part.key, 0, min(part.size, MAX_RECORD_BYTES)
            )
            end = data.find(b"\n")
            if end < 0 and len(data) < part.size:
                raise DatasetError(f"s3://{self.address.bucket}/{part.key}: the CSV header line is too long")
            line = data if end < 0 else data[: end + 1]
            try:
                names = next(csv.reader([line.decode("utf-8-sig")]), [])
            except (UnicodeDecodeError, csv.Error) as error:
                raise DatasetError(
                    f"s3://{self.address.bucket}/{part.key}: the CSV header cannot be read"
                ) from error
            self._csv_headers[part.key] = ([name.strip() for name in names], len(line))
        return self._csv_headers[part.key]

    async def _text_batches(
        self, part: DatasetPart, position: DatasetPosition, batch_rows: int
    ) -> AsyncIterator[DatasetBatch]:
        part_index = self.parts.index(part)
        names: list[str] = []
        data_start = 0
        if part.format == "csv":
            names, data_start = await self._csv_header(part)
        skip = 0
        if position.byte is None:  # read from the part's first record and discard up to part_row
            skip, byte, part_row = position.part_row, data_start, 0
        else:
            byte, part_row = max(position.byte, data_start), position.part_row
        row = position.row
        records: list[TextRecord] = []
        carry = b""
        while byte + len(carry) < part.size:
            block_start = byte + len(carry)
            end = min(part.size, block_start + TEXT_BLOCK_SIZE)
            data = carry + await self.store.get_range(self.address.bucket, part.key, block_start, end)
            final = end >= part.size
            decoded, ends, consumed = await asyncio.to_thread(_decode_block, data, part.format, names, final)
            if consumed == 0 and not final and len(data) > MAX_RECORD_BYTES:
                raise DatasetError(
                    f"s3://{self.address.bucket}/{part.key}: a record after row {part_row} is longer "
                    f"than {MAX_RECORD_BYTES} bytes"
                )
            carry = data[consumed:]
            block_byte = byte
            byte += consumed
            if skip:
                dropped = min(skip, len(decoded))
                skip -= dropped
                part_row += dropped
                decoded, ends = decoded[dropped:], ends[dropped:]
            for index, record in enumerate(decoded):
                records.append(record)
                if len(records) == batch_rows:
                    part_row += len(records)
                    next_position = DatasetPosition(
                        row + len(records), part_index, part_row, block_byte + ends[index]
                    )
                    yield DatasetBatch(row, None, records, next_position)
                    row, records = next_position.row, []
            if final:
                break
        if skip:  # start row past the part's end
            part.num_rows = part_row
            return
        part_row += len(records)
        part.num_rows = part_row
        if records:
            yield DatasetBatch(
                row, None, records, DatasetPosition(row + len(records), part_index, part_row, byte)
            )


# ---------------------------------------------------------------------------------------------------
# Text decoding (runs in a worker thread)


def _decode_block(
    data: bytes, dataset_format: DatasetFormat, names: list[str], final: bool
) -> tuple[list[TextRecord], list[int], int]:
    """(records, byte end of each record, bytes consumed). Unless `final`, the last, possibly partial
    record is left unconsumed for the next block."""
    if dataset_format == "jsonl":
        return _decode_jsonl(data, final)
    return _decode_csv(data, names, final)


def _decode_jsonl(data: bytes, final: bool) -> tuple[list[TextRecord], list[int], int]:
    records: list[TextRecord] = []
    ends: list[int] = []
    consumed = len(data) if final else data.rfind(b"\n") + 1
    offset = 0
    for line in data[:consumed].split(b"\n"):
        offset += len(line) + 1
        if not line.strip():
            continue
        records.append(_jsonl_record(line))
        ends.append(min(offset, consumed))
    return records, ends, consumed


def _jsonl_record(line: bytes) -> TextRecord:
    # Counting brackets is C-fast; the exact depth is computed only for lines that could be too deep.
    if line.count(b"[") + line.count(b"{") > MAX_JSON_DEPTH and _json_depth(line) > MAX_JSON_DEPTH:
        return TextRecord(None, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(line)
    except RecursionError:
        return TextRecord(None, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    except ValueError:  # includes UnicodeDecodeError
        return TextRecord(None, "not valid JSON")
    if not isinstance(value, dict):
        return TextRecord(None, "not a JSON object")
    return TextRecord(value)


def _json_depth(line: bytes) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for byte in line:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class _Lines(Iterator[str]):
    """Lines for csv.reader, counting the characters it has taken (to find where records end)."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._index = 0
        self.taken = 0

    def __next__(self) -> str:
        if self._index >= len(self._lines):
            raise StopIteration
        line = self._lines[self._index]
        self._index += 1
        self.taken += len(line)
        return line


def _decode_csv(data: bytes, names: list[str], final: bool) -> tuple[list[TextRecord], list[int], int]:
    cut = len(data) if final else data.rfind(b"\n") + 1
    try:
        text = data[:cut].decode("utf-8")
    except UnicodeDecodeError:
        # A newline never occurs inside a multi-byte UTF-8 sequence, so the cut is clean; the invalid
        # bytes are kept as surrogates and their record is reported below.
        text = data[:cut].decode("utf-8", errors="surrogateescape")
    ascii_only = text.isascii()
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    source = _Lines(lines)
    reader = csv.reader(source)
    parsed: list[tuple[TextRecord, int]] = []  # (record, character offset of its end)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            parsed.append((TextRecord(None, "not readable as CSV"), source.taken))
            continue
        if not cells:
            continue  # a blank line is no record
        parsed.append((_csv_record(cells, names), source.taken))
    if not final and parsed:
        parsed.pop()  # may be cut short by the block's end (a quoted field across lines)
    records = [record for record, _ in parsed]
    if ascii_only:
        ends = [end for _, end in parsed]
    else:
        ends, chars, byte = [], 0, 0
        for _, end in parsed:
            byte += len(text[chars:end].encode("utf-8", errors="surrogateescape"))
            chars = end
            ends.append(byte)
    consumed = cut if final else (ends[-1] if ends else 0)
    return records, ends, consumed


def _csv_record(cells: list[str], names: list[str]) -> TextRecord:
    if len(cells) > len(names):
        return TextRecord(None, f"{len(cells)} fields, the header has {len(names)}")
    values: dict[str, Any] = {}
    for name, cell in zip(names, cells, strict=False):
        if not cell.isascii() and any("\udc80" <= char <= "\udcff" for char in cell):
            return TextRecord(None, "not valid UTF-8")
        values[name] = cell if cell != "" else None
    for name in names[len(cells) :]:
        values[name] = None
    return TextRecord(values)


__all__ = [
    "Dataset",
    "DatasetBatch",
    "DatasetPart",
    "DatasetPosition",
    "TextRecord",
    "list_dataset_parts",
    "open_dataset",
    "validate_schema",
]
