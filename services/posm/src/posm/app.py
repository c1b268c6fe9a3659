"""The posm api: `create_app(settings)` is the composition root; nothing happens at import."""

from __future__ import annotations

from aiohttp import web

from posm import SCHEMA, SERVICE
from posm.api.routes import routes
from posm.errors import domain_errors
from posm.keys import SETTINGS
from posm.settings import Settings
from quintet_service import create_service_app


def create_app(settings: Settings) -> web.Application:
    app = create_service_app(SERVICE, SCHEMA, settings, [routes], buckets=[settings.bucket])
    app.middlewares.append(domain_errors)  # innermost: inside the platform's error envelope
    app[SETTINGS] = settings
    return app
