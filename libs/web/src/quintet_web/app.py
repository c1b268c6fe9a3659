"""The base application every api builds on: middlewares, health, readiness, metrics, docs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from quintet_runtime import DEV_JWT_SECRET, bind_request_id
from quintet_web.errors import ERROR_TABLE, PLATFORM_ERRORS, ErrorTable, error_middleware
from quintet_web.keys import JWT_SECRET, SERVICE_NAME
from quintet_web.openapi import SWAGGER_HTML, SWAGGER_UI_DIR, build_openapi
from quintet_web.routes import RouteTable

log = structlog.get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[object]]
READINESS_TIMEOUT = 2.0

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@web.middleware
async def request_id_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    request_id = bind_request_id(request.headers.get("X-Request-Id"))
    response = await handler(request)
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def metrics_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    started = time.perf_counter()
    response = await handler(request)
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    HTTP_REQUESTS.labels(request.method, route, str(response.status)).inc()
    HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
    return response


def create_base_app(
    service: str,
    *,
    jwt_secret: str,
    routes: list[RouteTable],
    readiness: dict[str, ReadinessCheck],
    errors: ErrorTable | None = None,
    metrics_refresh: Callable[[], Awaitable[None]] | None = None,
    client_max_size: int = 16 * 1024**2,
) -> web.Application:
    """The app with the platform's middlewares and endpoints; the service adds its cleanup contexts.

    `errors` maps the service's exceptions to statuses (on top of the platform's own mappings);
    `metrics_refresh` updates gauges read from elsewhere (the database) before `/metrics` answers."""
    if jwt_secret == DEV_JWT_SECRET:
        log.warning("using the development JWT secret; set QUINTET_JWT_SECRET outside local runs")
    app = web.Application(
        middlewares=[request_id_middleware, metrics_middleware, error_middleware],
        client_max_size=client_max_size,
    )
    app[JWT_SECRET] = jwt_secret
    app[SERVICE_NAME] = service
    app[ERROR_TABLE] = PLATFORM_ERRORS | errors if errors is not None else PLATFORM_ERRORS
    for table in routes:
        table.register(app)
    specs = [spec for table in routes for spec in table.routes]

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": service})

    async def ready(request: web.Request) -> web.Response:
        results: dict[str, str] = {}
        for name, check in readiness.items():
            try:
                await asyncio.wait_for(check(), READINESS_TIMEOUT)
                results[name] = "ok"
            except Exception as exc:  # readiness reports any failure, it never raises
                # The reason goes to the log only: exception text can name hosts and credentials.
                log.warning("readiness check failed", check=name, error=f"{type(exc).__name__}: {exc}")
                results[name] = "failed"
        ok = all(value == "ok" for value in results.values())
        return web.json_response(
            {"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503
        )

    async def metrics(request: web.Request) -> web.Response:
        if metrics_refresh is not None:
            try:
                await asyncio.wait_for(metrics_refresh(), READINESS_TIMEOUT)
            except Exception as exc:  # the process's own metrics still answer
                log.warning("metrics refresh failed", error=f"{type(exc).__name__}: {exc}")
        response = web.Response(body=generate_latest())
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    async def openapi(request: web.Request) -> web.Response:
        prefix = request.headers.get("X-Forwarded-Prefix", "")
        return web.json_response(build_openapi(f"{service} API", specs, prefix))

    async def docs(request: web.Request) -> web.Response:
        if not request.path.endswith("/docs"):
            raise web.HTTPNotFound()
        return web.Response(text=SWAGGER_HTML.format(title=f"{service} API"), content_type="text/html")

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/docs", docs)
    app.router.add_static("/docs/static", SWAGGER_UI_DIR)
    return app


def run_app(app: web.Application, host: str, port: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is an optimisation, not a requirement
        pass
    log.info("api listening", host=host, port=port)
    web.run_app(app, host=host, port=port, access_log=None, print=None)
