import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quintet_s3 import (
    Dataset,
    DatasetAddress,
    DatasetBatch,
    DatasetError,
    DatasetFormat,
    DatasetNotAllowed,
    DatasetNotFound,
    DatasetPolicy,
    DatasetTooLarge,
    ObjectStore,
    ObjectStoreRefused,
    dataset_reader,
    open_dataset,
    parse_dataset_address,
    validate_schema,
    write_dataset,
    write_dataset_part,
)

ROWS = 1000
ROW_GROUP = 100
PART_SIZES = [300, 450, 250]  # part boundaries at rows 300 and 750
FORMATS: list[DatasetFormat] = ["parquet", "jsonl", "csv"]
START = datetime(2026, 1, 1)


def sample_table(first: int = 0, count: int = ROWS) -> pa.Table:
    ids = list(range(first, first + count))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array([f"row {i}" for i in ids], pa.string()),
            "amount": pa.array([i * 1.5 for i in ids], pa.float64()),
            "expires_at": pa.array([START + timedelta(minutes=i) for i in ids], pa.timestamp("ms")),
        }
    )


@pytest.fixture(scope="module")
async def datasets(store: ObjectStore) -> dict[tuple[str, str], Any]:
    """Every format as one object and as a prefix of three parts, written once for the module."""
    bucket = f"ds-{uuid.uuid4().hex[:20]}"
    await store.ensure_bucket(bucket)
    addresses: dict[tuple[str, str], str] = {}
    for dataset_format in FORMATS:
        single = f"s3://{bucket}/single/data.{dataset_format}"
        await write_dataset(store, single, sample_table(), row_group_size=ROW_GROUP)
        addresses[dataset_format, "object"] = single
        prefix = f"s3://{bucket}/parts-{dataset_format}/"
        first = 0
        for size in PART_SIZES:
            await write_dataset_part(
                store, prefix, sample_table(first, size), format=dataset_format, row_group_size=ROW_GROUP
            )
            first += size
        addresses[dataset_format, "prefix"] = prefix
    addresses["policy", ""] = DatasetPolicy(allowed=(bucket,))
    return addresses


def allow(bucket: str, **limits: int) -> DatasetPolicy:
    return DatasetPolicy(allowed=(bucket,), **limits)


def ids_of(batch: DatasetBatch) -> list[int]:
    """The `id` column of a batch whatever the format (CSV cells are strings)."""
    if batch.table is not None:
        return list(batch.table.column("id").to_pylist())
    assert batch.records is not None
    return [int(record.values["id"]) for record in batch.records if record.values is not None]


async def read_ids(dataset: Dataset, start: Any = 0, batch_rows: int = 10_000) -> list[int]:
    return [i async for batch in dataset.iter_batches(start, batch_rows) for i in ids_of(batch)]


@pytest.mark.parametrize("layout", ["object", "prefix"])
@pytest.mark.parametrize("dataset_format", FORMATS)
@pytest.mark.parametrize(
    ("start_row", "batch_rows"),
    [
        (0, 10_000),
        (0, 128),
        (150, 7),  # inside a row group
        (299, 50),  # last row of the first part
        (300, 64),  # first row of the second part
        (750, 1000),  # first row of the third part
        (999, 3),  # the last row
        (1000, 10),  # at the end: nothing
        (5000, 10),  # past the end: nothing
    ],
)
async def test_batches_from_any_start_row_number_the_rows_of_the_whole_dataset(
    store: ObjectStore, datasets, dataset_format: str, layout: str, start_row: int, batch_rows: int
):
    # A freshly opened dataset, as a worker resuming from a checkpoint has: text parts' row counts
    # are not known yet when the read starts past them.
    dataset = await open_dataset(store, datasets[dataset_format, layout], datasets["policy", ""])
    batches = [batch async for batch in dataset.iter_batches(start_row, batch_rows)]
    expected = list(range(start_row, ROWS))
    assert [i for batch in batches for i in ids_of(batch)] == expected
    assert [batch.first_row for batch in batches] == [ids_of(batch)[0] for batch in batches]
    assert all(batch.num_rows <= batch_rows for batch in batches)


@pytest.mark.parametrize("layout", ["object", "prefix"])
@pytest.mark.parametrize("dataset_format", FORMATS)
async def test_a_read_resumed_at_a_batch_position_continues_where_it_stopped(
    store: ObjectStore, datasets, dataset_format: str, layout: str
):
    policy = datasets["policy", ""]
    first = await open_dataset(store, datasets[dataset_format, layout], policy)
    batches = first.iter_batches(0, 280)
    stop = [await anext(batches), await anext(batches)][-1]
    await batches.aclose()
    resumed = await open_dataset(store, datasets[dataset_format, layout], policy)
    assert stop.next.row == stop.first_row + stop.num_rows > 280  # batches never span two parts
    assert await read_ids(resumed, stop.next, 100) == list(range(stop.next.row, ROWS))


@pytest.mark.parametrize("layout", ["object", "prefix"])
async def test_parquet_schema_and_row_count_come_from_metadata(store: ObjectStore, datasets, layout: str):
    dataset = await open_dataset(store, datasets["parquet", layout], datasets["policy", ""])
    assert dataset.schema is not None and dataset.schema.equals(sample_table().schema)
    assert dataset.num_rows == ROWS


class CountingStore(ObjectStore):
    """Counts the bytes fetched by range reads, to prove what was not downloaded."""

    fetched = 0
    largest = 0

    async def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        data = await super().get_range(bucket, key, start, end)
        self.fetched += len(data)
        self.largest = max(self.largest, len(data))
        return data


async def test_parquet_start_row_skips_earlier_row_groups_without_downloading_them(
    store: ObjectStore, datasets
):
    address, policy = datasets["parquet", "object"], datasets["policy", ""]
    from_start = CountingStore(store.client)
    dataset = await open_dataset(from_start, address, policy)
    opened = from_start.fetched
    assert await read_ids(dataset) == list(range(ROWS))
    whole = from_start.fetched - opened

    near_end = CountingStore(store.client)
    dataset = await open_dataset(near_end, address, policy)
    assert await read_ids(dataset, 950) == list(range(950, ROWS))
    assert near_end.fetched - opened < whole / 5


async def test_text_is_read_in_blocks_whatever_its_size(store: ObjectStore, bucket: str, monkeypatch):
    monkeypatch.setattr(dataset_reader, "TEXT_BLOCK_SIZE", 4096)
    lines = "".join(json.dumps({"id": i, "pad": "x" * 50}) + "\n" for i in range(5000))
    await store.put(bucket, "big.jsonl", lines.encode())
    counting = CountingStore(store.client)
    dataset = await open_dataset(counting, f"s3://{bucket}/big.jsonl", allow(bucket))
    assert await read_ids(dataset, 0, 1000) == list(range(5000))
    assert counting.largest <= 4096
    assert dataset.num_rows == 5000  # counted by the complete read


async def test_a_csv_field_with_newlines_across_a_block_boundary_is_one_record(
    store: ObjectStore, bucket: str, monkeypatch
):
    monkeypatch.setattr(dataset_reader, "TEXT_BLOCK_SIZE", 64)
    rows = "".join(f'{i},"line one\nline two {i}\n",ünï\n' for i in range(40))
    await store.put(bucket, "quoted.csv", ("id,note,name\n" + rows).encode())
    dataset = await open_dataset(store, f"s3://{bucket}/quoted.csv", allow(bucket))
    records = [r async for batch in dataset.iter_batches(0, 7) for r in batch.records or []]
    assert [r.values for r in records] == [
        {"id": str(i), "note": f"line one\nline two {i}\n", "name": "ünï"} for i in range(40)
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "JSON nested deeper than 64 levels"),
        (b'{"a": "\xff"}', "not valid JSON"),
    ],
    ids=["not-json", "not-an-object", "deeply-nested", "not-utf8"],
)
async def test_an_unreadable_jsonl_line_is_a_record_with_its_problem(
    store: ObjectStore, bucket: str, line: bytes, problem: str
):
    data = b'{"id": 0}\n' + line + b'\n{"id": 2}\n'
    await store.put(bucket, "lines.jsonl", data)
    dataset = await open_dataset(store, f"s3://{bucket}/lines.jsonl", allow(bucket))
    records = [r async for batch in dataset.iter_batches() for r in batch.records or []]
    assert [(r.values, r.problem) for r in records] == [({"id": 0}, None), (None, problem), ({"id": 2}, None)]


async def test_a_csv_record_with_more_fields_than_the_header_is_a_problem(store: ObjectStore, bucket: str):
    await store.put(bucket, "wide.csv", b"id,name\n1,a\n2,b,extra\n3\n")
    dataset = await open_dataset(store, f"s3://{bucket}/wide.csv", allow(bucket))
    records = [r async for batch in dataset.iter_batches() for r in batch.records or []]
    assert [(r.values, r.problem) for r in records] == [
        ({"id": "1", "name": "a"}, None),
        (None, "3 fields, the header has 2"),
        ({"id": "3", "name": None}, None),
    ]


async def test_a_record_longer_than_the_limit_fails_the_read(store: ObjectStore, bucket: str, monkeypatch):
    monkeypatch.setattr(dataset_reader, "TEXT_BLOCK_SIZE", 1024)
    monkeypatch.setattr(dataset_reader, "MAX_RECORD_BYTES", 4096)
    await store.put(bucket, "long.jsonl", b'{"id": 1}\n{"pad": "' + b"x" * 10_000 + b'"}\n')
    dataset = await open_dataset(store, f"s3://{bucket}/long.jsonl", allow(bucket))
    with pytest.raises(DatasetError, match="longer than 4096 bytes"):
        await read_ids(dataset)


async def test_a_corrupt_parquet_page_fails_the_read_naming_the_row_group(store: ObjectStore, bucket: str):
    sink = pa.BufferOutputStream()
    pq.write_table(sample_table(), sink, row_group_size=ROW_GROUP, compression="snappy")
    data = bytearray(sink.getvalue().to_pybytes())
    data[len(data) // 2 : len(data) // 2 + 200] = b"\xff" * 200  # inside a data page, footer intact
    await store.put(bucket, "corrupt.parquet", bytes(data))
    dataset = await open_dataset(store, f"s3://{bucket}/corrupt.parquet", allow(bucket))
    with pytest.raises(DatasetError, match=r"row group \d+ cannot be read as Parquet"):
        await read_ids(dataset)


async def test_write_dataset_part_numbers_parts_in_order(store: ObjectStore, bucket: str):
    prefix = f"s3://{bucket}/exports/"
    written = [await write_dataset_part(store, prefix, sample_table(i * 10, 10)) for i in range(3)]
    assert written == [DatasetAddress(bucket=bucket, key=f"exports/part-{n:05d}.parquet") for n in range(3)]
    dataset = await open_dataset(store, prefix, allow(bucket))
    assert [part.key for part in dataset.parts] == [address.key for address in written]
    assert await read_ids(dataset) == list(range(30))


async def test_write_dataset_part_refuses_a_second_format(store: ObjectStore, bucket: str):
    prefix = f"s3://{bucket}/mixed/"
    await write_dataset_part(store, prefix, sample_table(0, 5), format="csv")
    with pytest.raises(DatasetError, match="holds csv parts"):
        await write_dataset_part(store, prefix, sample_table(5, 5), format="parquet")


async def test_parts_with_different_schemas_name_the_offending_column(store: ObjectStore, bucket: str):
    prefix = f"s3://{bucket}/drift/"
    await write_dataset_part(store, prefix, sample_table(0, 5))
    drifted = sample_table(5, 5).set_column(3, "expires_at", pa.array(["soon"] * 5, pa.string()))
    await write_dataset_part(store, prefix, drifted)
    with pytest.raises(
        DatasetError, match=r"part-00001\.parquet.*column 'expires_at': expected timestamp\[ms\], got string"
    ):
        await open_dataset(store, prefix, allow(bucket))


async def test_bookkeeping_folders_under_a_prefix_are_not_parts(store: ObjectStore, bucket: str):
    prefix = f"s3://{bucket}/with-temporary/"
    await write_dataset_part(store, prefix, sample_table(0, 5))
    await store.put(bucket, "with-temporary/_temporary/0/part-00009.parquet", b"half-written")
    await store.put(bucket, "with-temporary/.hidden/part-00008.parquet", b"not data")
    dataset = await open_dataset(store, prefix, allow(bucket))
    assert [part.key for part in dataset.parts] == ["with-temporary/part-00000.parquet"]


@pytest.mark.parametrize(
    ("allowed", "address", "readable"),
    [
        (("{bucket}",), "s3://{bucket}/x.csv", True),
        (("{bucket}/in/",), "s3://{bucket}/in/x.csv", True),
        (("{bucket}/in/",), "s3://{bucket}/other/x.csv", False),
        (("{bucket}/in/",), "s3://{bucket}/", False),
        (("{bucket}",), "s3://segments-reports/x.csv", False),
        ((), "s3://{bucket}/x.csv", False),
    ],
    ids=["bucket", "prefix", "other-prefix", "whole-bucket-of-a-prefix", "other-bucket", "nothing-allowed"],
)
async def test_only_allowed_buckets_and_prefixes_are_read(
    store: ObjectStore, bucket: str, allowed: tuple[str, ...], address: str, readable: bool
):
    await store.put(bucket, "x.csv", b"id\n1\n")
    await store.put(bucket, "in/x.csv", b"id\n1\n")
    policy = DatasetPolicy(allowed=tuple(entry.format(bucket=bucket) for entry in allowed))
    if readable:
        await open_dataset(store, address.format(bucket=bucket), policy)
    else:
        with pytest.raises(DatasetNotAllowed, match="outside what this service may read"):
            await open_dataset(store, address.format(bucket=bucket), policy)


@pytest.mark.parametrize(
    ("limits", "limit"), [({"max_parts": 2}, "max_parts"), ({"max_bytes": 100}, "max_bytes")]
)
async def test_a_dataset_over_a_limit_is_refused_naming_the_limit(
    store: ObjectStore, bucket: str, limits: dict[str, int], limit: str
):
    for n in range(3):
        await store.put(bucket, f"many/part-{n}.csv", b"id\n" + b"1\n" * 30)
    with pytest.raises(DatasetTooLarge, match=limit) as raised:
        await open_dataset(store, f"s3://{bucket}/many/", allow(bucket, **limits))
    assert raised.value.limit == limit


async def test_access_denied_is_an_error_naming_it_not_a_crash(store: ObjectStore, bucket: str):
    await store.put(bucket, "secret.csv", b"id\n1\n")
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}/*"]}
        ],
    }
    await store.client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    with pytest.raises(ObjectStoreRefused, match="AccessDenied"):
        await store.get(bucket, "secret.csv")
    with pytest.raises(DatasetError, match="AccessDenied"):
        await open_dataset(store, f"s3://{bucket}/secret.csv", allow(bucket))


@pytest.mark.parametrize(
    ("expected", "problems"),
    [
        (
            {"id": pa.int64(), "name": pa.string(), "amount": pa.float64(), "expires_at": pa.timestamp("ms")},
            [],
        ),
        (
            {
                "id": {pa.int32(), pa.int64()},
                "name": pa.string(),
                "amount": pa.float64(),
                "expires_at": pa.timestamp("ms"),
            },
            [],
        ),
        (
            {"id": pa.int64(), "name": pa.string(), "amount": pa.float64(), "expires_at": pa.string()},
            ["column 'expires_at': expected string, got timestamp[ms]"],
        ),
        (
            {
                "id": pa.int64(),
                "name": pa.string(),
                "amount": pa.float64(),
                "expires_at": pa.timestamp("ms"),
                "park_id": pa.string(),
            },
            ["missing column 'park_id' (expected string)"],
        ),
        (
            {"id": pa.int64(), "name": pa.string(), "amount": pa.float64()},
            ["unexpected column 'expires_at' (timestamp[ms])"],
        ),
    ],
    ids=["exact", "accepted-set", "mistyped", "missing", "extra"],
)
def test_validate_schema_names_each_bad_column(expected, problems):
    assert validate_schema(sample_table().schema, expected) == problems


def test_validate_schema_can_allow_extra_columns():
    assert validate_schema(sample_table().schema, {"id": pa.int64()}, allow_extra=True) == []


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "empty"),
        ("bucket/key.parquet", "must start with s3://"),
        ("https://bucket/key.parquet", "must start with s3://"),
        ("s3:///key.parquet", "no bucket"),
        ("s3://Bad_Bucket/key.parquet", "not a valid bucket name"),
        ("s3://bucket/key.xlsx", "cannot tell the format"),
        ("s3://bucket/dir", "cannot tell the format"),
        ("s3://bucket/a//b.csv", "empty path segment"),
        ("s3://bucket/a\x00.csv", "NUL"),
        ("s3://bucket/" + "ж" * 600 + ".csv", "S3 allows 1024"),
    ],
)
def test_bad_address_raises_dataset_error_saying_why(address: str, message: str):
    with pytest.raises(DatasetError, match=message):
        parse_dataset_address(address)


@pytest.mark.parametrize(
    ("address", "bucket", "key", "is_prefix", "dataset_format"),
    [
        ("s3://goals/in/2026.parquet", "goals", "in/2026.parquet", False, "parquet"),
        ("s3://goals/in/rows.NDJSON", "goals", "in/rows.NDJSON", False, "jsonl"),
        ("s3://goals/in/rows.csv", "goals", "in/rows.csv", False, "csv"),
        ("s3://goals/in/", "goals", "in/", True, None),
        ("s3://goals/", "goals", "", True, None),
    ],
)
def test_good_addresses_parse(address, bucket, key, is_prefix, dataset_format):
    parsed = parse_dataset_address(address)
    assert (parsed.bucket, parsed.key, parsed.is_prefix, parsed.format) == (
        bucket,
        key,
        is_prefix,
        dataset_format,
    )
    assert str(parsed) == address


@pytest.mark.parametrize(
    "address", ["s3://{bucket}/nothing.parquet", "s3://{bucket}/empty/", "s3://no-such-bucket-q/x/"]
)
async def test_missing_dataset_raises_dataset_not_found(store: ObjectStore, bucket: str, address: str):
    policy = DatasetPolicy(allowed=(bucket, "no-such-bucket-q"))
    with pytest.raises(DatasetNotFound):
        await open_dataset(store, address.format(bucket=bucket), policy)


async def test_a_corrupt_parquet_object_raises_dataset_error(store: ObjectStore, bucket: str):
    await store.put(bucket, "broken.parquet", b"not parquet at all")
    with pytest.raises(DatasetError, match="not a readable Parquet file"):
        await open_dataset(store, f"s3://{bucket}/broken.parquet", allow(bucket))


async def test_a_trusted_caller_reads_without_a_policy_and_small_datasets_read_whole(
    store: ObjectStore, bucket: str
):
    await write_dataset_part(store, f"s3://{bucket}/small/", sample_table(0, 5))
    await write_dataset_part(store, f"s3://{bucket}/small/", sample_table(5, 5))
    dataset = await open_dataset(store, f"s3://{bucket}/small/")
    assert (await dataset.read_all()).column("id").to_pylist() == list(range(10))
