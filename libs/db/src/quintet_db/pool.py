"""asyncpg pool bound to one service schema."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    # json/jsonb travel as Python objects; handlers never see raw JSON strings.
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text"
        )


async def create_pool(
    dsn: str, schema: str, *, min_size: int = 2, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """A pool whose connections see the service's schema first on the search_path.

    The statement cache is kept (default) because services use a small fixed set of queries.
    """
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": f"{schema},public", "application_name": schema},
        **kwargs,
    )
    assert pool is not None
    return pool


def schema_dsn(dsn: str, database: str) -> str:
    """The same server DSN pointed at another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def database_exists_url(dsn: str) -> str:
    """DSN of the maintenance database on the same server (to create or drop others)."""
    return schema_dsn(dsn, "postgres")


def pool_cleanup_ctx(key: Any, dsn: str, schema: str, *, max_size: int = 10) -> Any:
    """An aiohttp cleanup context that opens the pool at startup and closes it at shutdown."""
    from collections.abc import AsyncIterator

    from aiohttp import web

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        app[key] = await create_pool(dsn, schema, max_size=max_size)
        yield
        await app[key].close()

    return ctx
