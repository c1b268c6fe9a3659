"""Stand-ins for the upstream systems Quintet talks to, one aiohttp app (port 8090 by default).

Each upstream is a module of this package with `register(app: web.Application) -> None` adding its
routes (its own paths, plus `/_stand-in/...` admin routes for tests). `create_app()` registers every
such module it finds, so adding an upstream is adding a module. Services never import this package:
they reach it over HTTP through their `<SERVICE>_<UPSTREAM>_URL` settings.
"""
