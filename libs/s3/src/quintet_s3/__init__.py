"""Object storage for Quintet: one shared aioboto3 client, a typed object store, and datasets."""

from quintet_s3.dataset_address import (
    CONTENT_TYPE_BY_FORMAT,
    DatasetAddress,
    DatasetError,
    DatasetFormat,
    DatasetNotAllowed,
    DatasetNotFound,
    DatasetPolicy,
    DatasetTooLarge,
    parse_dataset_address,
)
from quintet_s3.dataset_reader import (
    Dataset,
    DatasetBatch,
    DatasetPart,
    DatasetPosition,
    TextRecord,
    list_dataset_parts,
    open_dataset,
    validate_schema,
)
from quintet_s3.dataset_writer import serialize_table, write_dataset, write_dataset_part
from quintet_s3.store import (
    ObjectAlreadyExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreError,
    ObjectStoreRefused,
    s3_client,
)

__all__ = [
    "CONTENT_TYPE_BY_FORMAT",
    "Dataset",
    "DatasetAddress",
    "DatasetBatch",
    "DatasetError",
    "DatasetFormat",
    "DatasetNotAllowed",
    "DatasetNotFound",
    "DatasetPart",
    "DatasetPolicy",
    "DatasetPosition",
    "DatasetTooLarge",
    "ObjectAlreadyExists",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStoreError",
    "ObjectStoreRefused",
    "TextRecord",
    "list_dataset_parts",
    "open_dataset",
    "parse_dataset_address",
    "s3_client",
    "serialize_table",
    "validate_schema",
    "write_dataset",
    "write_dataset_part",
]
