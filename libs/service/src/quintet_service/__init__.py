"""The service kit: what every Quintet service composes alike, from one `ServiceDeclaration`.

- `ServiceDeclaration`: a service's names and where its settings, routes, errors and worker live;
  from it come the CLI (`python -m <package> api|worker|migrate`), the api app, the worker process and
  the migration sources.
- In handlers: `request.app[PG_POOL]`, `request.app[S3_CLIENT]`, `app_settings(request, Settings)`.
- `worker_resources`: the pool and S3 client of a worker process (tests and tools use it too).
"""

from quintet_service.app import (
    DATABASE_ERRORS,
    PG_POOL,
    S3_CLIENT,
    SETTINGS,
    app_settings,
    create_service_app,
    worker_resources,
)
from quintet_service.cli import service_main
from quintet_service.declaration import ServiceDeclaration, resolve

__all__ = [
    "DATABASE_ERRORS",
    "PG_POOL",
    "S3_CLIENT",
    "SETTINGS",
    "ServiceDeclaration",
    "app_settings",
    "create_service_app",
    "resolve",
    "service_main",
    "worker_resources",
]
