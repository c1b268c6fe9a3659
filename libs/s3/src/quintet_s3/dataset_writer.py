"""Writing datasets: one object (`write_dataset`) or the next part file of a prefix
(`write_dataset_part`, safe against concurrent writers)."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from quintet_s3.dataset_address import (
    CONTENT_TYPE_BY_FORMAT,
    EXTENSION_BY_FORMAT,
    DatasetAddress,
    DatasetError,
    DatasetFormat,
    as_address,
    format_of_key,
)
from quintet_s3.store import ObjectAlreadyExists, ObjectStore

_PART_NAME = re.compile(r"^part-(\d+)\.[A-Za-z0-9]+$")
_PART_NAME_RETRIES = 20


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
    address = as_address(address)
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
    prefix = as_address(address_prefix)
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
