"""What every Quintet service composes the same way, written once.

- `create_service_app`: the platform edge (quintet_web) plus the process-wide PostgreSQL pool and S3
  client as cleanup contexts, and `/ready` checking the database and the broker.
- `worker_resources`: the same pool and S3 client for a worker process.
- `service_main`: `python -m <package> api|worker|migrate`.
"""

from quintet_service.app import PG_POOL, S3_CLIENT, create_service_app, worker_resources
from quintet_service.cli import service_main

__all__ = ["PG_POOL", "S3_CLIENT", "create_service_app", "service_main", "worker_resources"]
