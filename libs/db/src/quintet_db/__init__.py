"""PostgreSQL access shared by the services: one pool per process, one schema per service."""

from quintet_db.migrations import migrate, rollback_all, stairway
from quintet_db.pool import create_pool, database_exists_url, pool_cleanup_ctx, schema_dsn

__all__ = [
    "create_pool",
    "database_exists_url",
    "migrate",
    "pool_cleanup_ctx",
    "rollback_all",
    "schema_dsn",
    "stairway",
]
