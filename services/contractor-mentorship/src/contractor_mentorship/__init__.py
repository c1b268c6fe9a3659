"""contractor-mentorship: newbie/mentor driver matching with a CRM exchanged through datasets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from quintet_runtime import PlatformSettings
from quintet_service import ServiceDeclaration


@dataclass(frozen=True)
class MentorshipService(ServiceDeclaration):
    """The kit's declaration plus what this service needs in every api process: one HTTP session to
    its upstreams for the app's lifetime (`app[UPSTREAMS]`), and the CRM datasets' buckets (named by
    dataset addresses, not bucket fields) created at startup. The worker opens its own session in
    `build_worker`."""

    def bucket_names(self, settings: PlatformSettings) -> list[str]:
        from contractor_mentorship.settings import Settings, crm_buckets

        assert isinstance(settings, Settings)
        return crm_buckets(settings)

    def create_app(self, settings: PlatformSettings) -> web.Application:
        from contractor_mentorship.keys import UPSTREAMS
        from contractor_mentorship.settings import Settings
        from contractor_mentorship.upstreams import open_upstreams

        assert isinstance(settings, Settings)
        app = super().create_app(settings)

        async def upstreams_ctx(app: web.Application) -> AsyncIterator[None]:
            async with open_upstreams(settings) as upstreams:
                app[UPSTREAMS] = upstreams
                yield

        app.cleanup_ctx.append(upstreams_ctx)
        return app


SERVICE = MentorshipService(
    name="contractor-mentorship",
    package="contractor_mentorship",
    schema="contractor_mentorship",
    settings="contractor_mentorship.settings:Settings",
    routes="contractor_mentorship.api.routes:routes",
    errors="contractor_mentorship.errors:ERRORS",
    worker="contractor_mentorship.worker:build_worker",
)

__all__ = ["SERVICE"]
