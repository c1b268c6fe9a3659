"""PostgreSQL access shared by the services: one pool per process, one schema per service."""

from quintet_db.migrations import migrate, stairway
from quintet_db.pool import Pool, PoolTimeouts, create_pool

__all__ = ["Pool", "PoolTimeouts", "create_pool", "migrate", "stairway"]
