"""pytest fixtures: `pg_server_dsn`, `database_factory`, `amqp_url`, `s3_endpoint`, `s3_credentials`,
and `platform_settings` (all of them but the database, as PlatformSettings keyword arguments)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from quintet_testing.infra import (
    DEFAULT_AMQP_URL,
    DEFAULT_PG_DSN,
    DatabaseFactory,
    VirtualHost,
    docker_available,
    start_moto_server,
)


@pytest.fixture(scope="session")
def use_testcontainers() -> bool:
    explicit = any(os.environ.get(k) for k in ("QUINTET_PG_DSN", "QUINTET_AMQP_URL"))
    return not explicit and docker_available()


@pytest.fixture(scope="session")
def pg_server_dsn(use_testcontainers: bool) -> Iterator[str]:
    if use_testcontainers:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver=None) as container:
            yield container.get_connection_url()
        return
    yield os.environ.get("QUINTET_PG_DSN", DEFAULT_PG_DSN)


@pytest.fixture(scope="session")
async def database_factory(pg_server_dsn: str) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(pg_server_dsn)
    yield factory
    await factory.drop_all()


@pytest.fixture(scope="session")
def amqp_url(use_testcontainers: bool) -> Iterator[str]:
    if use_testcontainers:
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13") as container:
            params = container.get_connection_params()
            # A container is this session's alone: its default vhost is already isolated.
            yield f"amqp://guest:guest@{params.host}:{params.port}/"
        return
    vhost = VirtualHost(os.environ.get("QUINTET_AMQP_URL", DEFAULT_AMQP_URL))
    yield vhost.create()
    vhost.delete()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    configured = os.environ.get("QUINTET_S3_ENDPOINT")
    if configured:
        yield configured
        return
    process, endpoint = start_moto_server()
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_credentials() -> dict[str, str]:
    return {
        "access_key": os.environ.get("QUINTET_S3_ACCESS_KEY", "test"),
        "secret_key": os.environ.get("QUINTET_S3_SECRET_KEY", "test"),
    }


@pytest.fixture(scope="session")
def platform_settings(amqp_url: str, s3_endpoint: str, s3_credentials: dict[str, str]) -> dict[str, str]:
    """Keyword arguments for a service's Settings pointing at this session's broker and S3:
    `Settings(pg_dsn=..., **platform_settings, ...)`."""
    return {
        "amqp_url": amqp_url,
        "s3_endpoint": s3_endpoint,
        "s3_access_key": s3_credentials["access_key"],
        "s3_secret_key": s3_credentials["secret_key"],
    }


@pytest.fixture(scope="session")
async def s3(s3_endpoint: str, s3_credentials: dict[str, str]) -> AsyncIterator[Any]:
    """One aioboto3 client on this session's S3 server, for arranging and reading objects in tests."""
    from quintet_s3 import s3_client

    async with s3_client(s3_endpoint, s3_credentials["access_key"], s3_credentials["secret_key"]) as client:
        yield client


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a service's tests derive from other fixtures; override it in a conftest."""
    return {}
