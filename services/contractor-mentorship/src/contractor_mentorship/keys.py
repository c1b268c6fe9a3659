"""Typed application keys of the contractor-mentorship api (pool, S3 client, settings: the kit's)."""

from __future__ import annotations

from aiohttp import web

from contractor_mentorship.upstreams import Upstreams
from quintet_service import PG_POOL, S3_CLIENT

UPSTREAMS = web.AppKey("upstreams", Upstreams)

__all__ = ["PG_POOL", "S3_CLIENT", "UPSTREAMS"]
