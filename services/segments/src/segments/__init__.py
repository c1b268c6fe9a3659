"""segments: dynamic user segmentation for experiments."""

import asyncpg

from quintet_service import ServiceDeclaration


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (a second round trip on every pooled read, which
    halves the hot GET's throughput). Safe here: the api never changes session state (no SET, no
    LISTEN, no session-level advisory locks, no open cursors); asyncpg still rolls back a
    transaction left open on release."""


SERVICE = ServiceDeclaration(
    name="segments",
    package="segments",
    schema="segments",
    settings="segments.settings:Settings",
    routes="segments.api.routes:routes",
    errors="segments.errors:ERRORS",
    worker="segments.worker:build_worker",
    # Reports are uploaded by the worker and streamed by the api: the bucket must exist for both.
    buckets=("reports_bucket",),
    pool_options={"reset": _keep_session},
)
