"""The stand-ins app: every module of this package with a `register(app)` function is mounted."""

from __future__ import annotations

import importlib
import pkgutil

from aiohttp import web

import quintet_stand_ins


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024**2)
    app.router.add_get("/health", _health)
    for module_info in sorted(pkgutil.iter_modules(quintet_stand_ins.__path__), key=lambda m: m.name):
        if module_info.name in {"app", "__main__"}:
            continue
        module = importlib.import_module(f"quintet_stand_ins.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    return app
