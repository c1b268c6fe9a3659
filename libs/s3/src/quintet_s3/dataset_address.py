"""Dataset addresses (`s3://bucket/key.ext` or `s3://bucket/prefix/`), their errors, and the policy
a service reads datasets under: which buckets/prefixes it may read, how many parts and bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

DatasetFormat = Literal["parquet", "jsonl", "csv"]

FORMAT_BY_EXTENSION: dict[str, DatasetFormat] = {
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}
EXTENSION_BY_FORMAT: dict[DatasetFormat, str] = {"parquet": ".parquet", "jsonl": ".jsonl", "csv": ".csv"}
CONTENT_TYPE_BY_FORMAT: dict[DatasetFormat, str] = {
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
}

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# S3 refuses keys over 1024 bytes of UTF-8 (KeyTooLong): say so before asking it.
MAX_KEY_BYTES = 1024


class DatasetError(Exception):
    """A dataset address, layout, schema or content is not usable. The message says what, without
    quoting the dataset's content."""


class DatasetNotFound(DatasetError):
    """No object (or no part under the prefix) at the address."""


class DatasetNotAllowed(DatasetError):
    """The address is outside the buckets/prefixes the service may read."""


class DatasetTooLarge(DatasetError):
    """The dataset has more parts or bytes than the policy allows; `limit` names the setting."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class DatasetAddress(BaseModel):
    """`s3://bucket/key.ext` (one object) or `s3://bucket/prefix/` (a prefix of part files)."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    @property
    def format(self) -> DatasetFormat | None:
        """The format of a single object; None for a prefix (decided by its parts)."""
        return None if self.is_prefix else format_of_key(self.key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def format_of_key(key: str) -> DatasetFormat | None:
    name = key.rsplit("/", 1)[-1].lower()
    for extension, dataset_format in FORMAT_BY_EXTENSION.items():
        if name.endswith(extension) and len(name) > len(extension):
            return dataset_format
    return None


def parse_dataset_address(text: str) -> DatasetAddress:
    """Parse `s3://bucket/key` or `s3://bucket/prefix/`; raise DatasetError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise DatasetError("dataset address is empty; expected s3://bucket/key or s3://bucket/prefix/")
    text = text.strip()
    if "\x00" in text:
        raise DatasetError("dataset address contains a NUL character")
    if not text.startswith("s3://"):
        raise DatasetError(f"dataset address {text!r} must start with s3://")
    bucket, _, key = text[len("s3://") :].partition("/")
    if not bucket:
        raise DatasetError(f"dataset address {text!r} has no bucket")
    if not _BUCKET_NAME.match(bucket) or ".." in bucket:
        raise DatasetError(
            f"dataset address {text!r}: {bucket!r} is not a valid bucket name "
            "(3-63 lowercase letters, digits, dots or hyphens)"
        )
    if "//" in key or key.startswith("/"):
        raise DatasetError(f"dataset address {text!r} has an empty path segment")
    try:
        key_bytes = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise DatasetError("dataset address is not valid UTF-8") from None
    if key_bytes > MAX_KEY_BYTES:
        raise DatasetError(f"dataset address: the key is {key_bytes} bytes long; S3 allows {MAX_KEY_BYTES}")
    address = DatasetAddress(bucket=bucket, key=key)
    if not address.is_prefix and address.format is None:
        extensions = ", ".join(FORMAT_BY_EXTENSION)
        raise DatasetError(
            f"dataset address {text!r}: cannot tell the format of {key!r}; "
            f"expected a name ending in {extensions}, or a prefix ending in /"
        )
    return address


def as_address(address: str | DatasetAddress) -> DatasetAddress:
    return address if isinstance(address, DatasetAddress) else parse_dataset_address(address)


@dataclass(frozen=True)
class DatasetPolicy:
    """What a service may read: `allowed` entries are a bucket (`goals`) or a bucket and key prefix
    (`shared/goals/`); `max_parts` and `max_bytes` bound one dataset (a 400 names the limit)."""

    allowed: tuple[str, ...]
    max_parts: int = 1000
    max_bytes: int = 10 * 1024**3

    def check(self, address: DatasetAddress) -> None:
        for entry in self.allowed:
            bucket, _, prefix = entry.partition("/")
            if address.bucket == bucket and address.key.startswith(prefix):
                return
        allowed = ", ".join(f"s3://{entry.rstrip('/')}/" for entry in self.allowed) or "nothing"
        raise DatasetNotAllowed(f"dataset {address} is outside what this service may read ({allowed})")
