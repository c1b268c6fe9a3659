"""Typed application keys shared by the web lib's middlewares and routes."""

from __future__ import annotations

from aiohttp import web

JWT_SECRET = web.AppKey("quintet_jwt_secret", str)
SERVICE_NAME = web.AppKey("quintet_service_name", str)
