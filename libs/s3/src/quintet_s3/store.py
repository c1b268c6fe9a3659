"""One shared aioboto3 S3 client per process and a small typed object store around it."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aioboto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

# The aiobotocore client is generated at runtime; there are no bundled stubs for it.
S3Client = Any

# S3 requires every multipart part except the last to be at least 5 MiB.
MULTIPART_PART_SIZE = 8 * 1024 * 1024

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})
# HEAD answers carry no body, so botocore reports the bare HTTP status as the code.
_READABLE_CODES = {"403": "AccessDenied", "400": "BadRequest", "416": "InvalidRange"}


class ObjectStoreError(Exception):
    """Base of the errors raised by the object store."""


class ObjectNotFound(ObjectStoreError):
    """The bucket or the key does not exist."""

    def __init__(self, bucket: str, key: str | None = None) -> None:
        self.bucket = bucket
        self.key = key
        target = f"s3://{bucket}/{key}" if key is not None else f"bucket {bucket!r}"
        super().__init__(f"object not found: {target}")


class ObjectStoreRefused(ObjectStoreError):
    """S3 answered an error other than "not found" (AccessDenied, KeyTooLong, InvalidBucketName, ...).

    `code` is S3's error code; the message names it and the target, never S3's own text."""

    def __init__(self, code: str, bucket: str, key: str | None = None) -> None:
        self.code = code
        self.bucket = bucket
        self.key = key
        target = f"s3://{bucket}/{key}" if key is not None else f"bucket {bucket!r}"
        super().__init__(f"object storage refused access to {target}: {code}")


class ObjectAlreadyExists(ObjectStoreError):
    """A put with `overwrite=False` found the key already taken."""

    def __init__(self, bucket: str, key: str) -> None:
        self.bucket = bucket
        self.key = key
        super().__init__(f"object already exists: s3://{bucket}/{key}")


class ObjectInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    size: int
    last_modified: datetime | None = None
    etag: str | None = None


def client_config() -> Config:
    return Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        # MinIO and moto do not speak the newer default (CRC) checksum headers everywhere.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=32,
    )


@asynccontextmanager
async def s3_client(
    endpoint_url: str, access_key: str, secret_key: str, region: str = "us-east-1"
) -> AsyncIterator[S3Client]:
    """The process-wide S3 client: open it once (e.g. in an aiohttp cleanup context) and share it."""
    session = aioboto3.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
    )
    async with session.client("s3", endpoint_url=endpoint_url, config=client_config()) as client:
        yield client


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_not_found(error: ClientError) -> bool:
    return _error_code(error) in _NOT_FOUND_CODES


def _read_error(error: ClientError, bucket: str, key: str | None = None) -> ObjectStoreError:
    """What a failed read raises: ObjectNotFound for a 404, ObjectStoreRefused for any other answer."""
    if _is_not_found(error):
        return ObjectNotFound(bucket, key)
    code = _error_code(error) or "unknown error"
    return ObjectStoreRefused(_READABLE_CODES.get(code, code), bucket, key)


class ObjectStore:
    """Typed operations over one shared client. Missing buckets and keys raise `ObjectNotFound`."""

    def __init__(self, client: S3Client) -> None:
        self.client = client
        self._public_signers: dict[str, Any] = {}
        self._signers_lock = threading.Lock()

    async def ensure_bucket(self, name: str) -> None:
        try:
            await self.client.head_bucket(Bucket=name)
            return
        except ClientError as error:
            if not _is_not_found(error):
                raise
        region = self.client.meta.region_name
        kwargs: dict[str, Any] = {"Bucket": name}
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            await self.client.create_bucket(**kwargs)
        except ClientError as error:
            # Another process created it between our HEAD and CREATE.
            if _error_code(error) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    async def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        overwrite: bool = True,
    ) -> None:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": data, "ContentType": content_type}
        if not overwrite:
            kwargs["IfNoneMatch"] = "*"
        try:
            await self.client.put_object(**kwargs)
        except ClientError as error:
            if _error_code(error) in {"PreconditionFailed", "412"}:
                raise ObjectAlreadyExists(bucket, key) from error
            if _is_not_found(error):
                raise ObjectNotFound(bucket) from error
            raise

    async def get(self, bucket: str, key: str) -> bytes:
        response = await self._get_object(bucket, key)
        body = response["Body"]
        # Entering the body yields the raw aiohttp response; keep using the StreamingBody wrapper.
        async with body:
            data: bytes = await body.read()
        return data

    async def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        """Bytes `start` to `end` (exclusive) of an object."""
        if end <= start:
            return b""
        response = await self._get_object(bucket, key, Range=f"bytes={start}-{end - 1}")
        body = response["Body"]
        async with body:
            data: bytes = await body.read()
        return data

    async def stream(self, bucket: str, key: str, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        response = await self._get_object(bucket, key)
        body = response["Body"]
        async with body:
            async for chunk in body.iter_chunks(chunk_size):
                yield chunk

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        try:
            response = await self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            raise _read_error(error, bucket, key) from error
        return ObjectInfo(
            key=key,
            size=int(response["ContentLength"]),
            last_modified=response.get("LastModified"),
            etag=response.get("ETag"),
        )

    async def exists(self, bucket: str, key: str) -> bool:
        try:
            await self.head(bucket, key)
        except ObjectNotFound:
            return False
        return True

    async def list(
        self, bucket: str, prefix: str = "", *, page_size: int = 1000, max_objects: int | None = None
    ) -> list[ObjectInfo]:
        """Every object under `prefix`, in key order (all pages); with `max_objects`, listing stops
        once more than that many are seen (the caller learns "too many" without listing a bucket)."""
        paginator = self.client.get_paginator("list_objects_v2")
        objects: list[ObjectInfo] = []
        pages = paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size})
        try:
            async for page in pages:
                if max_objects is not None and len(objects) > max_objects:
                    break
                for item in page.get("Contents", []):
                    objects.append(
                        ObjectInfo(
                            key=item["Key"],
                            size=int(item["Size"]),
                            last_modified=item.get("LastModified"),
                            etag=item.get("ETag"),
                        )
                    )
        except ClientError as error:
            raise _read_error(error, bucket) from error
        return objects

    async def delete(self, bucket: str, key: str) -> None:
        """Idempotent like S3 itself: deleting a missing key is not an error; a missing bucket is."""
        try:
            await self.client.delete_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                raise ObjectNotFound(bucket) from error
            raise

    async def presigned_get_url(
        self, bucket: str, key: str, expires: int = 3600, public_endpoint: str | None = None
    ) -> str:
        """A time-limited GET URL.

        With `public_endpoint` the URL points there instead of at the internal endpoint. SigV4 signs the
        Host header, so merely swapping the host would break the signature on a real S3/MinIO; the URL is
        therefore signed for the public host (signing is local, no request is made).
        """
        params = {"Bucket": bucket, "Key": key}
        if public_endpoint is None:
            url: str = await self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires
            )
            return url
        signer = await self._public_signer(public_endpoint)
        public_url: str = signer.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)
        return public_url

    async def upload_stream(
        self,
        bucket: str,
        key: str,
        chunks: AsyncIterator[bytes],
        content_type: str = "application/octet-stream",
        part_size: int = MULTIPART_PART_SIZE,
    ) -> int:
        """Upload an object of unknown length holding at most one part in memory; returns its size.

        Small objects (under one part) go up in a single PUT; larger ones by multipart upload, which is
        aborted if anything fails so no orphaned parts are left behind.
        """
        buffer = bytearray()
        total = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []

        async def send_part(data: bytes) -> None:
            assert upload_id is not None
            response = await self.client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=len(parts) + 1, Body=data
            )
            parts.append({"PartNumber": len(parts) + 1, "ETag": response["ETag"]})

        try:
            async for chunk in chunks:
                buffer += chunk
                total += len(chunk)
                while len(buffer) >= part_size:
                    if upload_id is None:
                        upload_id = await self._create_multipart(bucket, key, content_type)
                    await send_part(bytes(buffer[:part_size]))
                    del buffer[:part_size]
            if upload_id is None:
                await self.put(bucket, key, bytes(buffer), content_type)
                return total
            if buffer or not parts:
                await send_part(bytes(buffer))
            await self.client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            if upload_id is not None:
                await self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
        return total

    async def _create_multipart(self, bucket: str, key: str, content_type: str) -> str:
        try:
            response = await self.client.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType=content_type
            )
        except ClientError as error:
            if _is_not_found(error):
                raise ObjectNotFound(bucket) from error
            raise
        return str(response["UploadId"])

    async def _get_object(self, bucket: str, key: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = await self.client.get_object(Bucket=bucket, Key=key, **kwargs)
        except ClientError as error:
            raise _read_error(error, bucket, key) from error
        return response

    async def _public_signer(self, public_endpoint: str) -> Any:
        """A plain botocore client bound to the public endpoint, used only to sign URLs (no I/O)."""
        signer = self._public_signers.get(public_endpoint)
        if signer is not None:
            return signer
        # aiobotocore keeps the resolved credentials on the request signer; there is no public getter.
        credentials = await self.client._request_signer._credentials.get_frozen_credentials()
        session = botocore.session.get_session()
        signer = session.create_client(
            "s3",
            endpoint_url=public_endpoint,
            region_name=self.client.meta.region_name,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            aws_session_token=credentials.token,
            config=client_config(),
        )
        with self._signers_lock:
            self._public_signers.setdefault(public_endpoint, signer)
        return self._public_signers[public_endpoint]
