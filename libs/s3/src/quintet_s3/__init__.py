"""Object storage for Quintet: one shared aioboto3 client, a typed object store, and datasets."""

from quintet_s3.datasets import (
    Dataset,
    DatasetAddress,
    DatasetError,
    DatasetFormat,
    DatasetNotFound,
    DatasetPart,
    list_dataset_parts,
    open_dataset,
    parse_dataset_address,
    validate_schema,
    write_dataset,
    write_dataset_part,
)
from quintet_s3.store import (
    ObjectAlreadyExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreError,
    s3_client,
)

__all__ = [
    "Dataset",
    "DatasetAddress",
    "DatasetError",
    "DatasetFormat",
    "DatasetNotFound",
    "DatasetPart",
    "ObjectAlreadyExists",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStoreError",
    "list_dataset_parts",
    "open_dataset",
    "parse_dataset_address",
    "s3_client",
    "validate_schema",
    "write_dataset",
    "write_dataset_part",
]
