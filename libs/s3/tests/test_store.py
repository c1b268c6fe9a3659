import asyncio
import os
from collections.abc import AsyncIterator

import aiohttp
import pytest

from quintet_s3 import ObjectAlreadyExists, ObjectNotFound, ObjectStore


async def fetch(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]
        await asyncio.sleep(0)


async def test_put_then_get_returns_the_same_bytes(store: ObjectStore, bucket: str):
    await store.put(bucket, "a/b.txt", b"hello", content_type="text/plain")
    assert await store.get(bucket, "a/b.txt") == b"hello"
    info = await store.head(bucket, "a/b.txt")
    assert info.key == "a/b.txt"
    assert info.size == 5


async def test_ensure_bucket_is_idempotent(store: ObjectStore, bucket: str):
    await store.put(bucket, "k", b"v")
    await store.ensure_bucket(bucket)
    assert await store.get(bucket, "k") == b"v"


async def test_stream_yields_the_object_in_chunks(store: ObjectStore, bucket: str):
    data = os.urandom(100_000)
    await store.put(bucket, "blob", data)
    chunks = [chunk async for chunk in store.stream(bucket, "blob", chunk_size=16_384)]
    assert b"".join(chunks) == data
    assert len(chunks) > 1
    assert all(len(chunk) <= 16_384 for chunk in chunks)


async def test_get_range_returns_the_requested_bytes(store: ObjectStore, bucket: str):
    await store.put(bucket, "digits", b"0123456789")
    assert await store.get_range(bucket, "digits", 2, 5) == b"234"


async def test_list_pages_through_everything_under_the_prefix_in_key_order(store: ObjectStore, bucket: str):
    keys = [f"p/{i:02d}" for i in range(7)]
    for key in reversed(keys):
        await store.put(bucket, key, key.encode())
    await store.put(bucket, "other/x", b"x")
    listed = await store.list(bucket, "p/", page_size=2)
    assert [info.key for info in listed] == keys
    assert [info.size for info in listed] == [4] * 7


async def test_delete_removes_the_object_and_is_idempotent(store: ObjectStore, bucket: str):
    await store.put(bucket, "gone", b"x")
    assert await store.exists(bucket, "gone")
    await store.delete(bucket, "gone")
    assert not await store.exists(bucket, "gone")
    await store.delete(bucket, "gone")


async def test_put_without_overwrite_refuses_an_existing_key(store: ObjectStore, bucket: str):
    await store.put(bucket, "once", b"1", overwrite=False)
    with pytest.raises(ObjectAlreadyExists):
        await store.put(bucket, "once", b"2", overwrite=False)
    assert await store.get(bucket, "once") == b"1"


async def test_presigned_url_serves_the_object(store: ObjectStore, bucket: str):
    await store.put(bucket, "doc.pdf", b"%PDF-1.4")
    url = await store.presigned_get_url(bucket, "doc.pdf", expires=60)
    assert await fetch(url) == (200, b"%PDF-1.4")


async def test_presigned_url_for_a_public_endpoint_points_there(
    store: ObjectStore, bucket: str, s3_endpoint: str
):
    await store.put(bucket, "doc.pdf", b"%PDF-1.4")
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    url = await store.presigned_get_url(bucket, "doc.pdf", expires=60, public_endpoint=public)
    assert url.startswith(f"{public}/{bucket}/doc.pdf?")
    assert "X-Amz-Signature=" in url
    assert await fetch(url) == (200, b"%PDF-1.4")


@pytest.mark.parametrize("size", [0, 1000, 12 * 1024 * 1024 + 17], ids=["empty", "small", "multipart"])
async def test_upload_stream_stores_every_byte(store: ObjectStore, bucket: str, size: int):
    data = os.urandom(size)
    written = await store.upload_stream(bucket, "up", chunks_of(data, 1024 * 1024))
    assert written == size
    assert await store.get(bucket, "up") == data


async def test_failed_upload_stream_leaves_no_object(store: ObjectStore, bucket: str):
    async def failing() -> AsyncIterator[bytes]:
        yield os.urandom(9 * 1024 * 1024)
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        await store.upload_stream(bucket, "broken", failing())
    assert not await store.exists(bucket, "broken")
    uploads = await store.client.list_multipart_uploads(Bucket=bucket)
    assert uploads.get("Uploads", []) == []


@pytest.mark.parametrize(
    "operation",
    [
        lambda store, bucket: store.get(bucket, "missing"),
        lambda store, bucket: store.head(bucket, "missing"),
        lambda store, bucket: store.get_range(bucket, "missing", 0, 10),
        lambda store, bucket: store.get("no-such-bucket-quintet", "k"),
        lambda store, bucket: store.list("no-such-bucket-quintet"),
        lambda store, bucket: store.put("no-such-bucket-quintet", "k", b"v"),
    ],
    ids=["get", "head", "get_range", "get-missing-bucket", "list-missing-bucket", "put-missing-bucket"],
)
async def test_missing_object_or_bucket_raises_object_not_found(store: ObjectStore, bucket: str, operation):
    with pytest.raises(ObjectNotFound):
        await operation(store, bucket)


async def test_streaming_a_missing_object_raises_object_not_found(store: ObjectStore, bucket: str):
    with pytest.raises(ObjectNotFound, match=f"s3://{bucket}/missing"):
        async for _ in store.stream(bucket, "missing"):
            pass
