"""Typed application keys of the contractor-mentorship api (pool and S3 client: the platform's)."""

from __future__ import annotations

from aiohttp import web

from contractor_mentorship.settings import Settings
from contractor_mentorship.upstreams import Upstreams
from quintet_service import PG_POOL, S3_CLIENT

SETTINGS = web.AppKey("settings", Settings)
UPSTREAMS = web.AppKey("upstreams", Upstreams)

__all__ = ["PG_POOL", "S3_CLIENT", "SETTINGS", "UPSTREAMS"]
