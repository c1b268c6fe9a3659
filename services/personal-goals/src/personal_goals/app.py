"""The personal-goals api: `create_app(settings)` is the composition root; nothing happens at import."""

from __future__ import annotations

from aiohttp import web

from personal_goals import SCHEMA, SERVICE
from personal_goals.api.routes import routes
from personal_goals.keys import SETTINGS
from personal_goals.settings import Settings
from quintet_service import create_service_app


def create_app(settings: Settings) -> web.Application:
    app = create_service_app(SERVICE, SCHEMA, settings, [routes])
    app[SETTINGS] = settings
    return app
