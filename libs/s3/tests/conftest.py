import uuid
from collections.abc import AsyncIterator

import pytest

from quintet_s3 import ObjectStore, s3_client


@pytest.fixture(scope="session")
async def store(s3_endpoint: str, s3_credentials: dict[str, str]) -> AsyncIterator[ObjectStore]:
    async with s3_client(s3_endpoint, **s3_credentials) as client:
        yield ObjectStore(client)


@pytest.fixture
async def bucket(store: ObjectStore) -> str:
    name = f"t-{uuid.uuid4().hex[:20]}"
    await store.ensure_bucket(name)
    return name
