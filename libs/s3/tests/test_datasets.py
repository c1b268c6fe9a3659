import uuid
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from quintet_s3 import (
    Dataset,
    DatasetAddress,
    DatasetError,
    DatasetFormat,
    DatasetNotFound,
    ObjectStore,
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
async def datasets(store: ObjectStore) -> dict[tuple[str, str], str]:
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
    return addresses


async def read_everything(dataset: Dataset) -> pa.Table:
    tables = [table async for _, table in dataset.iter_batches(batch_size=ROWS * 10)]
    return pa.concat_tables(tables)


@pytest.mark.parametrize("layout", ["object", "prefix"])
@pytest.mark.parametrize("dataset_format", FORMATS)
@pytest.mark.parametrize(
    ("start_row", "batch_size"),
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
async def test_chunks_from_any_start_row_equal_the_whole_read(
    store: ObjectStore, datasets, dataset_format: str, layout: str, start_row: int, batch_size: int
):
    # A freshly opened dataset, as a worker resuming from a checkpoint has: text parts' row counts
    # are not known yet when the read starts past them.
    fresh = await open_dataset(store, datasets[dataset_format, layout])
    chunks = [chunk async for chunk in fresh.iter_batches(start_row=start_row, batch_size=batch_size)]

    dataset = await open_dataset(store, datasets[dataset_format, layout])
    whole = await read_everything(dataset)
    assert whole.num_rows == ROWS
    assert whole.column("id").to_pylist() == list(range(ROWS))
    assert fresh.num_rows in (None, ROWS)  # never a wrong count

    expected_rows = max(0, ROWS - start_row)
    assert [start for start, _ in chunks] == list(range(start_row, start_row + expected_rows, batch_size))
    assert all(table.num_rows == batch_size for _, table in chunks[:-1])
    assert all(table.schema.equals(dataset.schema) for _, table in chunks)
    if expected_rows:
        assert pa.concat_tables(table for _, table in chunks).equals(whole.slice(start_row))
    else:
        assert chunks == []


@pytest.mark.parametrize("layout", ["object", "prefix"])
async def test_parquet_schema_and_row_count_come_from_metadata(store: ObjectStore, datasets, layout: str):
    dataset = await open_dataset(store, datasets["parquet", layout])
    assert dataset.schema.equals(sample_table().schema)
    assert dataset.num_rows == ROWS


@pytest.mark.parametrize("dataset_format", ["csv", "jsonl"])
@pytest.mark.parametrize("layout", ["object", "prefix"])
async def test_text_schema_is_inferred_before_reading_and_rows_are_counted_on_demand(
    store: ObjectStore, datasets, dataset_format: str, layout: str
):
    dataset = await open_dataset(store, datasets[dataset_format, layout])
    assert dataset.schema.names == ["id", "name", "amount", "expires_at"]
    assert dataset.schema.field("id").type == pa.int64()
    assert dataset.schema.field("name").type == pa.string()
    assert dataset.schema.field("amount").type == pa.float64()
    assert pa.types.is_timestamp(dataset.schema.field("expires_at").type)
    assert dataset.num_rows is None
    assert await dataset.count_rows() == ROWS
    assert dataset.num_rows == ROWS


class CountingStore(ObjectStore):
    """Counts the bytes fetched by range reads, to prove what was not downloaded."""

    fetched = 0

    async def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        data = await super().get_range(bucket, key, start, end)
        self.fetched += len(data)
        return data


async def test_parquet_start_row_skips_earlier_row_groups_without_downloading_them(
    store: ObjectStore, datasets
):
    address = datasets["parquet", "object"]
    from_start = CountingStore(store.client)
    dataset = await open_dataset(from_start, address)
    opened = from_start.fetched
    _ = [chunk async for chunk in dataset.iter_batches()]
    whole = from_start.fetched - opened

    near_end = CountingStore(store.client)
    dataset = await open_dataset(near_end, address)
    chunks = [chunk async for chunk in dataset.iter_batches(start_row=950)]
    assert [start for start, _ in chunks] == [950]
    assert near_end.fetched - opened < whole / 5


async def test_write_dataset_part_numbers_parts_in_order(store: ObjectStore, bucket: str):
    prefix = f"s3://{bucket}/exports/"
    written = [await write_dataset_part(store, prefix, sample_table(i * 10, 10)) for i in range(3)]
    assert written == [DatasetAddress(bucket=bucket, key=f"exports/part-{n:05d}.parquet") for n in range(3)]
    dataset = await open_dataset(store, prefix)
    assert [part.key for part in dataset.parts] == [address.key for address in written]
    assert (await dataset.read_all()).column("id").to_pylist() == list(range(30))


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
        await open_dataset(store, prefix)


@pytest.mark.parametrize("dataset_format", FORMATS)
async def test_parts_with_columns_in_another_order_read_as_one_dataset(
    store: ObjectStore, bucket: str, dataset_format: DatasetFormat
):
    prefix = f"s3://{bucket}/reordered-{dataset_format}/"
    await write_dataset_part(store, prefix, sample_table(0, 5), format=dataset_format)
    reordered = sample_table(5, 5).select(["expires_at", "amount", "name", "id"])
    await write_dataset_part(store, prefix, reordered, format=dataset_format)
    dataset = await open_dataset(store, prefix)
    whole = await read_everything(dataset)
    assert whole.column_names == ["id", "name", "amount", "expires_at"]
    assert whole.column("id").to_pylist() == list(range(10))


async def test_bookkeeping_folders_under_a_prefix_are_not_parts(store: ObjectStore, bucket: str):
    prefix = f"s3://{bucket}/with-temporary/"
    await write_dataset_part(store, prefix, sample_table(0, 5))
    await store.put(bucket, "with-temporary/_temporary/0/part-00009.parquet", b"half-written")
    await store.put(bucket, "with-temporary/.hidden/part-00008.parquet", b"not data")
    dataset = await open_dataset(store, prefix)
    assert [part.key for part in dataset.parts] == ["with-temporary/part-00000.parquet"]


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


async def test_csv_timestamps_read_as_strings_fail_validation_naming_the_column(
    store: ObjectStore, bucket: str
):
    await store.put(bucket, "goals.csv", b"driver_id,expires_at\nd1,next week\nd2,tomorrow\n")
    dataset = await open_dataset(store, f"s3://{bucket}/goals.csv")
    assert validate_schema(dataset.schema, {"driver_id": pa.string(), "expires_at": pa.timestamp("ms")}) == [
        "column 'expires_at': expected timestamp[ms], got string"
    ]


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
    with pytest.raises(DatasetNotFound):
        await open_dataset(store, address.format(bucket=bucket))


async def test_a_corrupt_parquet_object_raises_dataset_error(store: ObjectStore, bucket: str):
    await store.put(bucket, "broken.parquet", b"not parquet at all")
    with pytest.raises(DatasetError, match="not a readable Parquet file"):
        await open_dataset(store, f"s3://{bucket}/broken.parquet")
