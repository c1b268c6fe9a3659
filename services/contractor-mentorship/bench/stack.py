"""What both benchmarks start: a migrated database, an S3 server, the stand-ins in their own process.
Not a benchmark itself (`make bench` runs only `bench_*.py`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from contractor_mentorship import SERVICE
from quintet_testing.infra import DatabaseFactory, free_port, start_moto_server

PG_DSN = os.environ.get("QUINTET_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def bench_line(name: str, value: float, unit: str, baseline: float, ratio: float, note: str = "") -> None:
    suffix = f"  # {note}" if note else ""
    print(f"BENCH {name} {value:.2f} {unit} baseline={baseline:.2f} ratio={ratio:.2f}{suffix}", flush=True)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class BenchStack:
    """Processes and databases of one benchmark run; `close()` stops and drops them all."""

    def __init__(self) -> None:
        self.databases = DatabaseFactory(PG_DSN)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.s3_endpoint = os.environ.get("QUINTET_S3_ENDPOINT", "")
        if not self.s3_endpoint:
            moto, self.s3_endpoint = start_moto_server()
            self.processes.append(moto)
        self.crm = f"s3://bench-crm-{uuid.uuid4().hex[:10]}/mentorship"
        self.stand_ins_url = ""

    async def database(self) -> str:
        return await self.databases.migrated(SERVICE.schema, SERVICE.migration_sources)

    def start_stand_ins(self, drivers_fixture: Path | None = None) -> str:
        port = free_port()
        env = {**os.environ, "QUINTET_STAND_INS_CRM_INTERVAL_SECONDS": "0"}
        if drivers_fixture is not None:
            env["QUINTET_STAND_INS_DRIVERS_FIXTURE"] = str(drivers_fixture)
        self.processes.append(
            subprocess.Popen([sys.executable, "-m", "quintet_stand_ins", "--port", str(port)], env=env)
        )
        self.stand_ins_url = f"http://127.0.0.1:{port}"
        wait_http(self.stand_ins_url + "/health", timeout=180)
        return self.stand_ins_url

    def settings(self, pg_dsn: str, **extra: Any) -> dict[str, Any]:
        """Keyword arguments of the service's Settings for this stack."""
        up = self.stand_ins_url
        return {
            "pg_dsn": pg_dsn,
            "s3_endpoint": self.s3_endpoint,
            "s3_access_key": os.environ.get("QUINTET_S3_ACCESS_KEY", "test"),
            "s3_secret_key": os.environ.get("QUINTET_S3_SECRET_KEY", "test"),
            "driver_profiles_url": f"{up}/driver-profiles",
            "personal_url": f"{up}/personal",
            "trackstory_url": f"{up}/trackstory",
            "geobase_url": f"{up}/geobase",
            "fleet_rent_url": f"{up}/fleet-rent",
            "client_events_url": f"{up}/client-events",
            "new_drivers_url": f"{self.crm}/new_drivers/",
            "distribution_url": f"{self.crm}/distribution/",
            "results_to_send_url": f"{self.crm}/results_to_send/",
            "finished_promocodes_url": f"{self.crm}/finished_promocodes/",
            "archive_url": f"{self.crm}/archive/",
            **extra,
        }

    def start_api(self, settings: dict[str, Any]) -> tuple[subprocess.Popen[bytes], str]:
        """The api in its own process, configured through the environment like in production."""
        port = free_port()
        env = {**os.environ, "QUINTET_LOG_LEVEL": "WARNING", "CONTRACTOR_MENTORSHIP_PORT": str(port)}
        for name, value in settings.items():
            platform = name in {"pg_dsn", "s3_endpoint", "s3_access_key", "s3_secret_key"}
            key = f"QUINTET_{name.upper()}" if platform else f"CONTRACTOR_MENTORSHIP_{name.upper()}"
            env[key] = value if isinstance(value, str) else json.dumps(value)
        process = subprocess.Popen([sys.executable, "-m", "contractor_mentorship", "api"], env=env)
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/health")
        return process, url

    async def close(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        await self.databases.drop_all()
