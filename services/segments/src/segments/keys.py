"""Typed application keys of the segments api."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from segments.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
# The shared aioboto3 S3 client (its type comes from types-aiobotocore stubs, not a runtime class).
S3_CLIENT = web.AppKey("s3_client", Any)
