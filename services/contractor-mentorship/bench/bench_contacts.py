"""BENCH mentorship-contacts-p99-ms: p99 latency of `GET /driver/v1/mentorship/contacts` for a mentor
with 5 newbies at 200 req/s (open loop, from a load generator in its own process) while every
stand-in upstream adds 10 ms per call (goal ≤ 50 ms). The api runs in its own process.
Baseline in the same run: the same api with its upstream calls made one after another
(`CONTRACTOR_MENTORSHIP_CONTACTS_UPSTREAM_CALLS=one_by_one`: the caller, then each newbie's profile
and phone in turn).

    .venv/bin/python services/contractor-mentorship/bench/bench_contacts.py
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pyarrow as pa
from stack import BenchStack, bench_line

from contractor_mentorship.settings import Settings
from quintet_runtime import DEV_JWT_SECRET
from quintet_s3 import ObjectStore, s3_client, write_dataset_part
from quintet_web import mint_token

RATE = float(os.environ.get("BENCH_CONTACTS_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_CONTACTS_SECONDS", "10"))
UPSTREAM_DELAY_MS = 10
UPSTREAMS = ("driver-profiles", "personal", "trackstory", "geobase", "fleet-rent", "client-events")
ADMIN = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, sub='bench', scope='mentorship:admin')}"}


def person(name: str, hired_days_ago: int) -> dict[str, Any]:
    return {
        "unique_driver_id": f"u-{name}",
        "profiles": [{"park_id": "bench-park", "driver_id": name}],
        "first_name": name,
        "last_name": "Бенчев",
        "phone": f"+7900{abs(hash(name)) % 10_000_000:07d}",
        "hired_at": (datetime.now(UTC) - timedelta(days=hired_days_ago)).isoformat(),
        "point": {"lat": 55.75, "lon": 37.61},
        "city": "Москва",
        "rented": False,
    }


def driver_token(driver_id: str) -> str:
    return mint_token(
        DEV_JWT_SECRET, sub=driver_id, scope="mentorship:driver", park_id="bench-park", driver_id=driver_id
    )


async def arrange(stack: BenchStack, api: str, settings: Settings) -> None:
    """A mentor with 5 initialized newbies, through the api and the CRM's table."""
    async with aiohttp.ClientSession() as http:
        for driver in [person("mentor", 900)] + [person(f"newbie{i}", 3) for i in range(5)]:
            async with http.post(f"{stack.stand_ins_url}/_stand-in/drivers", json=driver) as response:
                assert response.status == 201, await response.text()
        for i in range(5):
            headers = {"Authorization": f"Bearer {driver_token(f'newbie{i}')}"}
            async with http.post(f"{api}/driver/v1/mentorship/accept", headers=headers) as response:
                assert response.status == 201, await response.text()
        rows = [
            {
                "newbie_park_id": "bench-park",
                "newbie_driver_id": f"newbie{i}",
                "mentor_park_id": "bench-park",
                "mentor_driver_id": "mentor",
                "connected_dttm": datetime.now(UTC) - timedelta(days=1),
            }
            for i in range(5)
        ]
        async with s3_client(
            settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_region
        ) as s3:
            await write_dataset_part(ObjectStore(s3), settings.distribution_url, pa.Table.from_pylist(rows))
        async with http.post(f"{api}/internal/admin/jobs/import-matchings/run", headers=ADMIN) as response:
            counts = (await response.json())["counts"]
            assert counts["initialized"] == 5, counts
        for upstream in UPSTREAMS:
            fault = {"upstream": upstream, "delay_ms": UPSTREAM_DELAY_MS, "count": 10**9}
            async with http.post(f"{stack.stand_ins_url}/_stand-in/faults", json=fault) as response:
                assert response.status == 201, await response.text()
        headers = {"Authorization": f"Bearer {driver_token('mentor')}"}
        async with http.get(f"{api}/driver/v1/mentorship/contacts", headers=headers) as response:
            assert len((await response.json())["contacts"]) == 5


def load(api: str) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "quintet_testing.load_generator",
        "--url",
        f"{api}/driver/v1/mentorship/contacts",
        "--token",
        driver_token("mentor"),
        "--mode",
        "open",
        "--rate",
        str(RATE),
        "--seconds",
        str(SECONDS),
        "--concurrency",
        "64",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


async def main() -> None:
    stack = BenchStack()
    try:
        stack.start_stand_ins()
        dsn = await stack.database()
        values = stack.settings(dsn)
        settings = Settings(**values)
        process, api = stack.start_api(values)
        await arrange(stack, api, settings)
        ours = await asyncio.to_thread(load, api)
        process.terminate()
        process.wait(timeout=20)
        _, baseline_api = stack.start_api({**values, "contacts_upstream_calls": "one_by_one"})
        baseline = await asyncio.to_thread(load, baseline_api)
        print(f"# bulk: {ours}")
        print(f"# one by one: {baseline}")
        assert ours["errors"] == 0 and baseline["errors"] == 0
        bench_line(
            "mentorship-contacts-p99-ms",
            ours["p99_ms"],
            "ms",
            baseline["p99_ms"],
            baseline["p99_ms"] / ours["p99_ms"],
            f"{RATE:.0f} req/s for {SECONDS:.0f} s, upstreams +{UPSTREAM_DELAY_MS} ms each, "
            f"p50 {ours['p50_ms']:.1f} ms",
        )
    finally:
        await stack.close()


if __name__ == "__main__":
    asyncio.run(main())
