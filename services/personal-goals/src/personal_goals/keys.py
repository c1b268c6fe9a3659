"""Typed application keys of the personal-goals api."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from personal_goals.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
# The process-wide aioboto3 S3 client (its class is generated at runtime, hence Any).
S3_CLIENT = web.AppKey("s3_client", Any)
