"""Put a local file into the stack's S3 as a dataset: `make put-dataset FILE=goals.parquet TO=s3://b/k`.

Uses the platform environment (QUINTET_S3_ENDPOINT, QUINTET_S3_ACCESS_KEY, QUINTET_S3_SECRET_KEY,
QUINTET_S3_REGION; the local stack's defaults otherwise) and creates the bucket when it is missing.
`TO` is a dataset address: `s3://bucket/key.ext` (the object itself; the format is told by the
extension: .parquet, .csv, .jsonl, .ndjson) or `s3://bucket/prefix/` (the file goes in as a part of that
prefix dataset, under its own name).

Exit codes: 0 stored, 2 bad arguments (missing file, bad address), 1 S3 failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from quintet_runtime.settings import PlatformSettings
from quintet_s3 import DatasetError, ObjectStore, parse_dataset_address
from quintet_s3.dataset_address import format_of_key
from quintet_s3.store import s3_client

CONTENT_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
}


class UsageError(Exception):
    """What the user gave cannot be stored (exit code 2)."""


def target_of(file: Path, to: str) -> tuple[str, str]:
    """(bucket, key) for `file` put at the dataset address `to`; raises UsageError saying what is wrong."""
    if not file.is_file():
        raise UsageError(f"FILE {str(file)!r}: no such file")
    try:
        address = parse_dataset_address(to)
    except DatasetError as error:
        raise UsageError(f"TO: {error}") from None
    key = f"{address.key}{file.name}" if address.is_prefix else address.key
    if format_of_key(key) is None:
        raise UsageError(
            f"FILE {file.name!r}: cannot tell its format; name it .parquet, .csv, .jsonl or .ndjson"
        )
    return address.bucket, key


async def put(data: bytes, content_type: str, bucket: str, key: str, settings: PlatformSettings) -> int:
    async with s3_client(
        settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_region
    ) as client:
        store = ObjectStore(client)
        await store.ensure_bucket(bucket)
        await store.put(bucket, key, data, content_type)
        return len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the local dataset file")
    parser.add_argument("to", help="s3://bucket/key.ext or s3://bucket/prefix/")
    args = parser.parse_args(argv)
    try:
        bucket, key = target_of(args.file, args.to)
    except UsageError as error:
        print(f"put-dataset: {error}", file=sys.stderr)
        return 2
    settings = PlatformSettings()
    try:
        data = args.file.read_bytes()
        content_type = CONTENT_TYPES.get(args.file.suffix.lower(), "application/octet-stream")
        size = asyncio.run(put(data, content_type, bucket, key, settings))
    except (ClientError, BotoCoreError, OSError) as error:
        code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
        reason = code or type(error).__name__
        print(
            f"put-dataset: cannot store s3://{bucket}/{key} on {settings.s3_endpoint}: {reason} "
            "(is the stack running? `make status`)",
            file=sys.stderr,
        )
        return 1
    print(f"stored s3://{bucket}/{key} ({size} bytes) on {settings.s3_endpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
