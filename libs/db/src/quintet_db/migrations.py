"""yoyo migrations applied into one service schema.

Each service keeps plain SQL files in `services/<name>/migrations`; libs that own tables (messaging)
ship their own migration folder, applied first into the same schema. SQL uses unqualified names:
the backend's search_path is the service schema, so the same files work for any schema name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from yoyo import get_backend, read_migrations


def _yoyo_url(dsn: str, schema: str) -> str:
    """yoyo's URL for `dsn`: the same connection parameters (sslmode, a socket host, ... in the query
    string are passed on to psycopg) plus the schema."""
    parts = urlsplit(dsn)
    query = urlencode([*((k, v) for k, v in parse_qsl(parts.query) if k != "schema"), ("schema", schema)])
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, query, ""))


def _ensure_schema(dsn: str, schema: str) -> None:
    # CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent twin (a unique violation in the
    # catalog): runners of the same schema take turns.
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"quintet-migrate:{schema}",))
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


@contextmanager
def _locked_backend(dsn: str, schema: str, sources: Sequence[Path]) -> Iterator[tuple[Any, Any]]:
    """The yoyo backend, holding its lock, and the migrations; the connection is closed on exit."""
    _ensure_schema(dsn, schema)
    backend = get_backend(_yoyo_url(dsn, schema), migration_table="_yoyo_migration")
    try:
        with backend.lock():
            yield backend, read_migrations(*(str(s) for s in sources))
    finally:
        backend.connection.close()


def migrate(dsn: str, schema: str, sources: Sequence[Path]) -> int:
    """Apply every pending migration of `sources` (in order) into `schema`. Idempotent.

    Returns how many migrations were applied. yoyo takes a lock, so concurrent runners are safe.
    """
    with _locked_backend(dsn, schema, sources) as (backend, migrations):
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


def stairway(dsn: str, schema: str, sources: Sequence[Path]) -> int:
    """Apply, roll back and apply again every migration, one step at a time.

    Catches rollbacks that do not undo their migration (the next apply fails) and migrations that
    only work once. Returns the number of migrations walked.
    """
    with _locked_backend(dsn, schema, sources) as (backend, migrations):
        steps = list(migrations)
        for index in range(len(steps)):
            step = migrations.__class__(steps[index : index + 1])
            backend.apply_migrations(backend.to_apply(step))
            backend.rollback_migrations(backend.to_rollback(step))
            backend.apply_migrations(backend.to_apply(step))
    return len(steps)
