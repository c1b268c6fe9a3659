"""The contractor-mentorship api: `create_app(settings)` is the composition root; nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from contractor_mentorship import SCHEMA, SERVICE
from contractor_mentorship.api.routes import routes
from contractor_mentorship.errors import ERRORS
from contractor_mentorship.keys import SETTINGS, UPSTREAMS
from contractor_mentorship.settings import Settings
from contractor_mentorship.upstreams import open_upstreams
from quintet_s3 import parse_dataset_address
from quintet_service import create_service_app
from quintet_web.errors import error_response


@web.middleware
async def _domain_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except tuple(ERRORS) as exc:
        status, code = next(v for k, v in ERRORS.items() if isinstance(exc, k))
        return error_response(status, code, str(exc), getattr(exc, "details", None))


def crm_buckets(settings: Settings) -> list[str]:
    """The buckets of the CRM's datasets (created at startup when missing)."""
    urls = (
        settings.new_drivers_url,
        settings.distribution_url,
        settings.results_to_send_url,
        settings.finished_promocodes_url,
        settings.archive_url,
    )
    return sorted({parse_dataset_address(url).bucket for url in urls})


def create_app(settings: Settings) -> web.Application:
    app = create_service_app(SERVICE, SCHEMA, settings, [routes], buckets=crm_buckets(settings))
    app.middlewares.append(_domain_errors)
    app[SETTINGS] = settings

    async def upstreams_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_upstreams(settings) as upstreams:
            app[UPSTREAMS] = upstreams
            yield

    app.cleanup_ctx.append(upstreams_ctx)
    return app
