"""A goals dataset as an upload reads it, through `quintet_s3` (allowlist, limits, streaming reads).

- Validation (api process): the schema from the Parquet footers, or from the CSV header / a sample of
  the first JSONL records; rows per selection from a streamed read of the `selection_id` column
  (Parquet) or of the records (CSV/JSONL carry no metadata). Memory stays bounded by one row group or
  one text block whatever the dataset's size; `max_bytes` bounds the time.
- Loading (worker): canonical chunks streamed from a row index. `GoalsReader` keeps the open dataset
  and the position after the last chunk, so the slices of one upload continue where the previous one
  stopped instead of re-reading the text before it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from personal_goals.domain.dataset_schema import GOAL_COLUMNS, SchemaProblem, arrow_schema_problems
from personal_goals.domain.errors import DatasetInvalid, DatasetProblem
from personal_goals.domain.goal_rows import (
    canonical_chunk,
    text_schema_problems,
    text_table,
    usable_selection_ids,
)
from personal_goals.domain.upload import MAX_ID_LENGTH, MAX_SELECTIONS_PER_UPLOAD
from personal_goals.storage.chunk_loader import chunk_csv
from quintet_s3 import (
    Dataset,
    DatasetError,
    DatasetPolicy,
    DatasetPosition,
    DatasetTooLarge,
    ObjectStore,
    TextRecord,
    open_dataset,
)

SAMPLE_ROWS = 1000
_COUNT_BATCH_ROWS = 100_000


@dataclass(frozen=True)
class DatasetSummary:
    rows: int
    selections: dict[str, int]


def _invalid(table: str, error: DatasetError) -> DatasetInvalid:
    problem = f"limit:{error.limit}" if isinstance(error, DatasetTooLarge) else "unreadable"
    return DatasetInvalid(table, [DatasetProblem("table", problem, str(error))])


def _schema_invalid(table: str, problems: list[SchemaProblem]) -> DatasetInvalid:
    return DatasetInvalid(table, [DatasetProblem(p.column, p.problem, p.message) for p in problems])


async def open_goals_dataset(s3: Any, table: str, policy: DatasetPolicy) -> Dataset:
    """The opened dataset, its schema checked (Parquet: footers; text: header or first records)."""
    try:
        dataset = await open_dataset(ObjectStore(s3), table, policy)
        problems = await schema_problems(dataset)
    except DatasetError as error:
        raise _invalid(table, error) from error
    if problems:
        raise _schema_invalid(table, problems)
    return dataset


async def schema_problems(dataset: Dataset) -> list[SchemaProblem]:
    if dataset.format is None:  # every part empty
        return []
    if dataset.schema is not None:
        return arrow_schema_problems(dataset.schema)
    sample = []
    async for batch in dataset.iter_batches(0, SAMPLE_ROWS):
        sample = batch.records or []
        break
    names = await dataset.csv_columns() if dataset.format == "csv" else []
    return text_schema_problems(dataset.format, names, sample)


async def inspect_dataset(s3: Any, table: str, policy: DatasetPolicy) -> DatasetSummary:
    """Schema + counts per selection; raises DatasetInvalid naming every problem."""
    dataset = await open_goals_dataset(s3, table, policy)
    counts: Counter[str] = Counter()
    rows = 0
    try:
        async for batch in dataset.iter_batches(0, _COUNT_BATCH_ROWS, columns=["selection_id"]):
            rows += batch.num_rows
            if batch.table is not None:
                selection_ids = batch.table.column("selection_id")
            else:
                selection_ids = text_table(batch.records or []).column("selection_id")
            counts.update(await asyncio.to_thread(usable_selection_ids, selection_ids))
            if len(counts) > MAX_SELECTIONS_PER_UPLOAD:
                message = f"{table} has more than {MAX_SELECTIONS_PER_UPLOAD} selections"
                raise DatasetInvalid(table, [DatasetProblem("selection_id", "limit:max_selections", message)])
    except DatasetError as error:
        raise _invalid(table, error) from error
    if rows == 0:
        raise DatasetInvalid(table, [DatasetProblem("table", "empty", f"{table} has no rows")])
    if not counts:
        message = (
            f"{table} has no row with a usable selection_id (non-blank, at most {MAX_ID_LENGTH} characters)"
        )
        raise DatasetInvalid(table, [DatasetProblem("selection_id", "empty", message)])
    return DatasetSummary(rows, dict(sorted(counts.items())))


@dataclass(frozen=True)
class PreparedChunk:
    first_row: int
    rows: int
    csv: bytes  # the canonical chunk as CSV for COPY
    next: DatasetPosition  # where the chunk after it starts


class GoalsReader:
    """The dataset a worker is loading and where its last chunk ended. Slices of one upload follow
    each other, so the next slice usually continues from the kept position."""

    def __init__(self, s3: Any, policy: DatasetPolicy) -> None:
        self._s3 = s3
        self._policy = policy
        self._table: str | None = None
        self._dataset: Dataset | None = None
        self._position: DatasetPosition | None = None

    async def chunks(
        self, table: str, start_row: int, chunk_size: int
    ) -> AsyncGenerator[PreparedChunk, None]:
        """Chunks from `start_row` on; raises DatasetInvalid when the dataset cannot be read (or its
        schema changed since validation): retrying cannot help then."""
        if self._table != table or self._dataset is None:
            self._table, self._dataset, self._position = None, None, None
            self._dataset = await open_goals_dataset(self._s3, table, self._policy)
            self._table = table
        dataset = self._dataset
        start: int | DatasetPosition = start_row
        if self._position is not None and self._position.row == start_row:
            start = self._position
        try:
            async for batch in dataset.iter_batches(start, chunk_size, columns=list(GOAL_COLUMNS)):
                csv = await asyncio.to_thread(
                    _chunk_csv, batch.table, batch.records, batch.first_row, dataset
                )
                yield PreparedChunk(batch.first_row, batch.num_rows, csv, batch.next)
        except DatasetError as error:
            self._table, self._dataset, self._position = None, None, None
            raise _invalid(table, error) from error

    def committed(self, chunk: PreparedChunk) -> None:
        """The next slice of this upload starts after `chunk`: remember where that is."""
        self._position = chunk.next


def _chunk_csv(
    table: pa.Table | None, records: list[TextRecord] | None, first_row: int, dataset: Dataset
) -> bytes:
    raw = table if table is not None else text_table(records or [])
    assert dataset.format is not None
    return chunk_csv(canonical_chunk(raw, first_row, dataset.format))
