"""Where tests get their PostgreSQL, RabbitMQ and S3 from.

A Docker engine that answers → testcontainers. Otherwise the services named by QUINTET_PG_DSN,
QUINTET_AMQP_URL and QUINTET_S3_ENDPOINT, defaulting to the machine's PostgreSQL and RabbitMQ and a
moto S3 server started for the session. Every run gets its own databases and its own RabbitMQ vhost,
so two runs on one machine never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

import asyncpg

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def docker_available() -> bool:
    if os.environ.get("QUINTET_TESTCONTAINERS", "auto") == "off" or shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout}s") from None
            time.sleep(0.1)


def local_s3_command(port: int) -> list[str]:
    """The command line of the local S3 server (moto's S3 on waitress: `quintet_testing.local_s3`)."""
    return [sys.executable, "-m", "quintet_testing.local_s3", "--host", "127.0.0.1", "--port", str(port)]


def start_moto_server(port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = port or free_port()
    process = subprocess.Popen(
        local_s3_command(port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_for_http(endpoint + "/moto-api/")
    return process, endpoint


def with_database(dsn: str, database: str) -> str:
    parts = urllib.parse.urlsplit(dsn)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


class DatabaseFactory:
    """Fresh databases for tests: migrate once into a template, then clone it per test (fast)."""

    def __init__(self, server_dsn: str) -> None:
        self.server_dsn = server_dsn
        self.run_id = uuid.uuid4().hex[:8]
        self._templates: dict[str, str] = {}
        self._created: list[str] = []
        self._lock = asyncio.Lock()

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(with_database(self.server_dsn, "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def template(self, key: str, migrate: Callable[[str], object]) -> str:
        """A database migrated by `migrate(dsn)` once per session; clone it with `create`."""
        async with self._lock:
            if key not in self._templates:
                name = f"qt_{self.run_id}_{key}_tpl".replace("-", "_")
                await self._execute(f'CREATE DATABASE "{name}"')
                self._created.append(name)
                await asyncio.to_thread(migrate, with_database(self.server_dsn, name))
                self._templates[key] = name
            return self._templates[key]

    async def migrated(self, schema: str, sources: Sequence[Path]) -> str:
        """A fresh database with `sources` applied into `schema` (migrated once, then cloned)."""
        from quintet_db import migrate

        template = await self.template(schema, lambda dsn: migrate(dsn, schema, sources))
        return await self.create(template)

    async def create(self, template: str | None = None) -> str:
        name = f"qt_{self.run_id}_{uuid.uuid4().hex[:10]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        await self._execute(f'CREATE DATABASE "{name}"{clause}')
        self._created.append(name)
        return with_database(self.server_dsn, name)

    async def drop(self, dsn: str) -> None:
        """Drop one database made by `create` (a test's, when it ends: the cost is spread over the
        run instead of piling up in the session's teardown)."""
        name = urllib.parse.urlsplit(dsn).path.lstrip("/")
        if name in self._created:
            self._created.remove(name)
            await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def drop_all(self) -> None:
        for name in reversed(self._created):
            await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _management(base: str, method: str, path: str, auth: tuple[str, str]) -> None:
    import base64

    request = urllib.request.Request(base + path, method=method, data=b"{}" if method == "PUT" else None)
    request.add_header("Content-Type", "application/json")
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    urllib.request.urlopen(request, timeout=10).close()


class VirtualHost:
    """A RabbitMQ vhost of its own for one test session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.name = f"qt_{uuid.uuid4().hex[:10]}"
        parts = urllib.parse.urlsplit(base_url)
        self.user = urllib.parse.unquote(parts.username or "guest")
        self.password = urllib.parse.unquote(parts.password or "guest")
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{self.name}", parts.query, ""))
        self._management = f"http://{parts.hostname}:15672/api"
        self._use_ctl = (
            parts.hostname in ("127.0.0.1", "localhost") and shutil.which("rabbitmqctl") is not None
        )

    def create(self) -> str:
        if self._use_ctl:
            _rabbitmqctl("add_vhost", self.name)
            _rabbitmqctl("set_permissions", "-p", self.name, self.user, ".*", ".*", ".*")
        else:
            auth = (self.user, self.password)
            _management(self._management, "PUT", f"/vhosts/{self.name}", auth)
            _management(
                self._management, "PUT", f"/permissions/{self.name}/{urllib.parse.quote(self.user)}", auth
            )
        return self.url

    def delete(self) -> None:
        try:
            if self._use_ctl:
                _rabbitmqctl("delete_vhost", self.name)
            else:
                _management(self._management, "DELETE", f"/vhosts/{self.name}", (self.user, self.password))
        except Exception as exc:  # cleanup must not hide a test failure
            print(f"warning: could not delete vhost {self.name}: {exc}", file=sys.stderr)
