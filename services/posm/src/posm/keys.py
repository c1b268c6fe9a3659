"""Typed application keys of the posm api (the pool and S3 client keys are the platform's)."""

from __future__ import annotations

from aiohttp import web

from posm.settings import Settings
from quintet_service import PG_POOL, S3_CLIENT

SETTINGS = web.AppKey("settings", Settings)

__all__ = ["PG_POOL", "S3_CLIENT", "SETTINGS"]
