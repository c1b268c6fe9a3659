"""The CRM's tables as datasets in S3: the rows we write (`new_drivers`), the rows we read
(`distribution`, `results_to_send`, `finished_promocodes`) and the archive we append to.

Readers stream part files batch by batch (bounded memory) and yield plain rows; rows that cannot be
ours (empty or overlong ids, NUL bytes) are counted and skipped, never a crash of the import.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from contractor_mentorship.storage.results import RESULT_COLUMNS
from quintet_s3 import (
    CONTENT_TYPE_BY_FORMAT,
    DatasetNotFound,
    DatasetPolicy,
    ObjectAlreadyExists,
    ObjectStore,
    open_dataset,
    parse_dataset_address,
    serialize_table,
)

READ_BATCH_ROWS = 20_000
MAX_ID_LENGTH = 64

NEW_DRIVERS_SCHEMA = pa.schema(
    [
        pa.field("matching_id", pa.string(), nullable=False),
        pa.field("park_id", pa.string(), nullable=False),
        pa.field("driver_id", pa.string(), nullable=False),
        pa.field("unique_driver_id", pa.string(), nullable=False),
        pa.field("first_name", pa.string()),
        pa.field("last_name", pa.string()),
        pa.field("phone", pa.string()),
        pa.field("city", pa.string()),
        pa.field("rented_car", pa.bool_(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


@dataclass(frozen=True)
class NewDriverRow:
    matching_id: uuid.UUID
    park_id: str
    driver_id: str
    unique_driver_id: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    city: str | None
    rented_car: bool
    created_at: datetime


async def write_new_driver(store: ObjectStore, prefix_url: str, row: NewDriverRow) -> bool:
    """Write the request row as its own part file, named after the matching and created only if
    absent: a retried task finds it there instead of adding a second row. True if written now."""
    prefix = parse_dataset_address(prefix_url)
    values: dict[str, Any] = {
        "matching_id": str(row.matching_id),
        "park_id": row.park_id,
        "driver_id": row.driver_id,
        "unique_driver_id": row.unique_driver_id,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "phone": row.phone,
        "city": row.city,
        "rented_car": row.rented_car,
        "created_at": row.created_at,
    }
    table = pa.Table.from_pylist([values], schema=NEW_DRIVERS_SCHEMA)
    data = serialize_table(table, "parquet")
    key = f"{prefix.key}part-{row.matching_id}.parquet"
    try:
        await store.put(prefix.bucket, key, data, CONTENT_TYPE_BY_FORMAT["parquet"], overwrite=False)
    except ObjectAlreadyExists:
        return False
    return True


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text


def _driver_id(value: Any) -> str | None:
    """An id we can store: text, 1..64 characters, no NUL."""
    text = _text(value)
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > MAX_ID_LENGTH or "\x00" in text:
        return None
    return text


def _timestamp(value: Any) -> datetime | None:
    """A timestamp from the CRM: typed (naive means UTC) or ISO text."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


async def _rows(
    store: ObjectStore, url: str, columns: Sequence[str], policy: DatasetPolicy
) -> AsyncIterator[dict[str, Any]]:
    """Rows of a dataset as dicts of `columns` (missing columns read as None), batch by batch;
    nothing if it is absent. Parquet reads only `columns`; JSONL/CSV records that cannot be read
    come out as rows of None (counted as skipped by the callers)."""
    try:
        dataset = await open_dataset(store, url, policy)
    except DatasetNotFound:
        return
    present = [c for c in columns if dataset.schema is None or c in dataset.schema.names]
    async for batch in dataset.iter_batches(batch_rows=READ_BATCH_ROWS, columns=present):
        if batch.table is not None:
            chunk = batch.table.to_pydict()
            for index in range(batch.table.num_rows):
                yield {c: (chunk[c][index] if c in chunk else None) for c in columns}
        for record in batch.records or ():
            values = record.values if isinstance(record.values, dict) else {}
            yield {c: values.get(c) for c in columns}


@dataclass(frozen=True)
class DistributionRow:
    newbie: tuple[str, str]
    mentor: tuple[str, str]
    connected_dttm: datetime


@dataclass
class ReadCounts:
    read: int = 0
    skipped: int = 0


async def distribution_since(
    store: ObjectStore, url: str, watermark: datetime | None, counts: ReadCounts, policy: DatasetPolicy
) -> AsyncIterator[DistributionRow]:
    """Distribution rows connected after `watermark` (all of them without one)."""
    columns = ("newbie_park_id", "newbie_driver_id", "mentor_park_id", "mentor_driver_id", "connected_dttm")
    async for raw in _rows(store, url, columns, policy):
        counts.read += 1
        connected = _timestamp(raw["connected_dttm"])
        ids = [_driver_id(raw[c]) for c in columns[:4]]
        if connected is None or any(i is None for i in ids):
            counts.skipped += 1
            continue
        if watermark is not None and connected <= watermark:
            continue
        newbie_park, newbie_driver, mentor_park, mentor_driver = (str(i) for i in ids)
        yield DistributionRow((newbie_park, newbie_driver), (mentor_park, mentor_driver), connected)


async def results_for(
    store: ObjectStore,
    url: str,
    wanted: Mapping[tuple[str, str], Any],
    counts: ReadCounts,
    policy: DatasetPolicy,
) -> dict[tuple[str, str], dict[str, str | None]]:
    """The last `results_to_send` row of each wanted newbie profile: figures by column, as text."""
    columns = ("newbie_park_id", "newbie_driver_id", *RESULT_COLUMNS)
    found: dict[tuple[str, str], dict[str, str | None]] = {}
    async for raw in _rows(store, url, columns, policy):
        counts.read += 1
        park, driver = _driver_id(raw["newbie_park_id"]), _driver_id(raw["newbie_driver_id"])
        if park is None or driver is None:
            counts.skipped += 1
            continue
        if (park, driver) in wanted:
            found[(park, driver)] = {c: _bounded_text(raw[c]) for c in RESULT_COLUMNS}
    return found


def _bounded_text(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    return text.replace("\x00", "")[:200]


def promocodes_url(prefix_url: str, day: str) -> str:
    return f"{prefix_url.rstrip('/')}/{day}/"


async def promocodes_for(
    store: ObjectStore, url: str, wanted: Mapping[str, Any], counts: ReadCounts, policy: DatasetPolicy
) -> dict[str, str] | None:
    """`entity_id` → promocode for the wanted entity ids; None when the day's dataset is absent."""
    try:
        await open_dataset(store, url, policy)
    except DatasetNotFound:
        return None
    found: dict[str, str] = {}
    async for raw in _rows(store, url, ("entity_id", "promocode"), policy):
        counts.read += 1
        entity, promocode = _bounded_text(raw["entity_id"]), _bounded_text(raw["promocode"])
        if not entity or not promocode:
            counts.skipped += 1
            continue
        if entity in wanted:
            found[entity] = promocode
    return found


ARCHIVE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("matched_at", pa.timestamp("us", tz="UTC")),
        pa.field("newbie_park_id", pa.string(), nullable=False),
        pa.field("newbie_driver_id", pa.string(), nullable=False),
        pa.field("newbie_unique_driver_id", pa.string(), nullable=False),
        pa.field("mentor_park_id", pa.string()),
        pa.field("mentor_driver_id", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("mentor_promocode", pa.string()),
        pa.field("completed_at", pa.timestamp("us", tz="UTC")),
        pa.field("original_connected_dttm", pa.timestamp("us", tz="UTC")),
        pa.field("newbie_last_read_at", pa.timestamp("us", tz="UTC")),
        pa.field("mentor_last_read_at", pa.timestamp("us", tz="UTC")),
        pa.field("transitions", pa.string(), nullable=False),
        pa.field("results", pa.string(), nullable=False),
    ]
)


async def write_archive_part(
    store: ObjectStore, prefix_url: str, month: str, batch_id: uuid.UUID, rows: Sequence[Mapping[str, Any]]
) -> str:
    """Write one batch's matchings of one month as `<prefix>month=YYYY-MM/batch-<id>.parquet`.

    The name is the batch's, so writing the same batch again replaces the object with the same
    rows: a run that stopped after writing and before deleting neither loses nor duplicates.
    """
    prefix = parse_dataset_address(prefix_url)
    values = [{name: _archive_value(row[name]) for name in ARCHIVE_SCHEMA.names} for row in rows]
    table = pa.Table.from_pylist(values, schema=ARCHIVE_SCHEMA)
    data = serialize_table(table, "parquet")
    key = f"{prefix.key}month={month}/batch-{batch_id}.parquet"
    await store.put(prefix.bucket, key, data, CONTENT_TYPE_BY_FORMAT["parquet"])
    return f"s3://{prefix.bucket}/{key}"


def _archive_value(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value
