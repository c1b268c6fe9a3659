"""Downloads: one POSM, or a generation's archive streamed while it is read from S3."""

from __future__ import annotations

import asyncio
import uuid
import zipfile
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from botocore.exceptions import ClientError

from posm.domain.errors import GenerationNotFound, GenerationNotReady, TableNotInGeneration
from posm.domain.rules import unique_entry_names
from posm.storage import generations as generations_sql

ARCHIVE_CHUNK = 256 * 1024


@dataclass(frozen=True)
class ArchivePlan:
    generation: asyncpg.Record
    entries: list[tuple[str, str]]  # (entry name, object key)


async def plan_archive(pool: asyncpg.Pool, place_id: uuid.UUID, generation_id: int) -> ArchivePlan:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        generation = await generations_sql.get_generation(conn, place_id, generation_id)
        if generation is None:
            raise GenerationNotFound(generation_id)
        if generation["status"] != "done":
            raise GenerationNotReady(generation["status"])
        tables = await generations_sql.generation_tables(conn, generation_id)
    names = unique_entry_names([t["label"] for t in tables])
    return ArchivePlan(generation, [(name, t["object_key"]) for name, t in zip(names, tables, strict=True)])


async def table_object(
    pool: asyncpg.Pool, place_id: uuid.UUID, generation_id: int, table_id: uuid.UUID
) -> str:
    async with pool.acquire() as conn:
        generation = await generations_sql.get_generation(conn, place_id, generation_id)
        if generation is None:
            raise GenerationNotFound(generation_id)
        table = await generations_sql.generation_table(conn, generation_id, table_id)
    if table is None:
        raise TableNotInGeneration(table_id)
    if generation["status"] == "deleted" or table["object_key"] is None:
        raise GenerationNotReady(generation["status"])
    return str(table["object_key"])


class _Sink:
    """A write-only, non-seekable file for `zipfile`: what it writes is taken out in pieces.

    Without `tell`/`seek`, zipfile writes each entry's sizes and CRC in a data descriptor after its
    data, which is what makes streaming possible."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


async def open_objects(
    s3: Any, bucket: str, keys: list[str], window: int
) -> AsyncGenerator[dict[str, Any], None]:
    """GetObject responses in order, with up to `window` requests in flight ahead of the reader
    (their bodies wait unread in the socket: memory stays bounded by the window, not the count)."""
    pending: deque[asyncio.Task[dict[str, Any]]] = deque()
    position = 0
    try:
        while position < len(keys) or pending:
            while position < len(keys) and len(pending) < window:
                pending.append(asyncio.ensure_future(s3.get_object(Bucket=bucket, Key=keys[position])))
                position += 1
            yield await pending.popleft()
    finally:
        for task in pending:
            task.cancel()
        for task in pending:
            try:
                response = await task
            except (asyncio.CancelledError, ClientError, OSError):
                continue
            response["Body"].close()


async def stream_zip(
    entries: list[tuple[str, str]], responses: AsyncIterator[dict[str, Any]], modified: datetime
) -> AsyncGenerator[bytes, None]:
    """The zip archive of `entries` (name, key) whose objects `responses` yields in order: stored
    (PDFs are compressed already), written as the bytes arrive, central directory at the end."""
    sink = _Sink()
    stamp = modified.timetuple()[:6]
    first = True
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[call-overload]
        for name, _ in entries:
            response = await anext(responses)
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.file_size = int(response.get("ContentLength") or 0)  # decides zip64 for large entries
            body = response["Body"]
            try:
                with archive.open(info, mode="w") as member:
                    while chunk := await body.read(ARCHIVE_CHUNK):
                        member.write(chunk)
                        if sink.size >= ARCHIVE_CHUNK:
                            yield sink.take()
            finally:
                body.close()
            # The first entry goes out at once (the client sees the download start); then small
            # files go out together: fewer, larger writes.
            if first or sink.size >= ARCHIVE_CHUNK:
                first = False
                yield sink.take()
    yield sink.take()
