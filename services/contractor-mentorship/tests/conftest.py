"""Fixtures: the kit's (a fresh migrated database per test, the api over real HTTP, the real worker in
this event loop), the stand-ins app in-process on a free port (a world of its own per test), and a
CRM played through the datasets in S3."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pyarrow as pa
import pytest
from aiohttp.test_utils import TestServer

from contractor_mentorship import SERVICE
from contractor_mentorship.settings import Settings, crm_buckets
from quintet_s3 import (
    DatasetNotFound,
    DatasetPolicy,
    ObjectStore,
    open_dataset,
    parse_dataset_address,
    s3_client,
    write_dataset_part,
)
from quintet_service import worker_resources
from quintet_stand_ins.app import create_app as create_stand_ins
from quintet_testing import bearer, service_fixtures

# Where each test city is: geobase (the stand-in) answers the city of the nearest known point.
CITY_POINTS = {
    "Москва": {"lat": 55.75, "lon": 37.61},
    "Казань": {"lat": 55.79, "lon": 49.12},
    "Тверь": {"lat": 56.86, "lon": 35.9},
}

ADMIN = bearer("mentorship:admin", sub="admin")


def driver_token(park_id: str, driver_id: str) -> dict[str, str]:
    return bearer("mentorship:driver", sub=f"{park_id}/{driver_id}", park_id=park_id, driver_id=driver_id)


@pytest.fixture
async def stand_ins_url() -> AsyncIterator[str]:
    server = TestServer(create_stand_ins())
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
def settings_overrides(stand_ins_url: str) -> dict[str, Any]:
    """Upstreams: this test's stand-ins; CRM datasets: a bucket of this test's own."""
    crm = f"s3://crm-{uuid.uuid4().hex[:12]}/mentorship"
    return {
        "driver_profiles_url": f"{stand_ins_url}/driver-profiles",
        "personal_url": f"{stand_ins_url}/personal",
        "trackstory_url": f"{stand_ins_url}/trackstory",
        "geobase_url": f"{stand_ins_url}/geobase",
        "fleet_rent_url": f"{stand_ins_url}/fleet-rent",
        "client_events_url": f"{stand_ins_url}/client-events",
        "new_drivers_url": f"{crm}/new_drivers/",
        "distribution_url": f"{crm}/distribution/",
        "results_to_send_url": f"{crm}/results_to_send/",
        "finished_promocodes_url": f"{crm}/finished_promocodes/",
        "archive_url": f"{crm}/archive/",
    }


globals().update(
    service_fixtures(
        SERVICE,
        pg_pool_max=8,
        upstream_timeout_seconds=1.0,
        upstream_retry_delay_seconds=0.01,
        max_attempts=2,
        retry_delays_seconds=(0.2,),
        # Scheduled runs would race the tests' own admin runs: far apart here.
        import_matchings_period_seconds=3600,
        import_progress_period_seconds=3600,
        import_finished_period_seconds=3600,
        archive_period_seconds=3600,
    )
)


@pytest.fixture
async def start_worker(settings: Settings) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Starts the real worker when called (the `worker` fixture starts it before the test body): for
    tests that arrange a world, e.g. faults, before the worker may touch it."""
    running: list[asyncio.Future[None]] = []
    resources: list[Any] = []

    async def start() -> None:
        context = worker_resources(settings, SERVICE.schema, buckets=SERVICE.bucket_names(settings))
        pool, s3 = await context.__aenter__()
        resources.append(context)
        running.append(asyncio.ensure_future(SERVICE.build_worker(settings, pool, s3).run()))

    yield start
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    for context in resources:
        await context.__aexit__(None, None, None)


@pytest.fixture
async def stand_ins(stand_ins_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=stand_ins_url + "/") as session:
        yield session


@pytest.fixture
def add_driver(stand_ins: aiohttp.ClientSession) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Adds one person to the stand-ins' world; returns the body sent (profiles first is theirs)."""

    async def add(
        *,
        profiles: int = 1,
        hired_days_ago: float = 3,
        city: str = "Москва",
        rented: bool = False,
        phone: str | None = None,
        first_name: str = "Иван",
        last_name: str = "Тестов",
    ) -> dict[str, Any]:
        person = uuid.uuid4().hex[:10]
        body = {
            "unique_driver_id": f"udid-{person}",
            "profiles": [
                {"park_id": f"park-{person}-{i}", "driver_id": f"drv-{person}-{i}"} for i in range(profiles)
            ],
            "first_name": first_name,
            "last_name": last_name,
            "phone": phone or f"+7900{int(person[:7], 16) % 10_000_000:07d}",
            "hired_at": (datetime.now(UTC) - timedelta(days=hired_days_ago)).isoformat(),
            "point": CITY_POINTS[city],
            "city": city,
            "rented": rented,
        }
        response = await stand_ins.post("_stand-in/drivers", json=body)
        assert response.status == 201, await response.text()
        return body

    return add


@pytest.fixture
def fault(stand_ins: aiohttp.ClientSession) -> Callable[..., Awaitable[None]]:
    async def inject(
        upstream: str, *, status: int | None = None, delay_ms: int = 0, count: int = 1000
    ) -> None:
        body = {"upstream": upstream, "status": status, "delay_ms": delay_ms, "count": count}
        response = await stand_ins.post("_stand-in/faults", json=body)
        assert response.status == 201, await response.text()

    return inject


def token_of(driver: dict[str, Any], profile: int = 0) -> dict[str, str]:
    key = driver["profiles"][profile]
    return driver_token(key["park_id"], key["driver_id"])


@pytest.fixture
def as_driver() -> Callable[..., dict[str, str]]:
    """Headers of a driver token for one of a person's profiles (by index)."""
    return token_of


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[ObjectStore]:
    async with s3_client(
        settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_region
    ) as s3:
        store = ObjectStore(s3)
        for bucket in crm_buckets(settings):
            await store.ensure_bucket(bucket)
        yield store


async def read_rows(store: ObjectStore, url: str) -> list[dict[str, Any]]:
    """Every row of a Parquet dataset (a test's small one); none when it does not exist."""
    address = parse_dataset_address(url)
    try:
        dataset = await open_dataset(store, address, DatasetPolicy((address.bucket,)))
    except DatasetNotFound:
        return []
    return [
        row
        async for batch in dataset.iter_batches()
        for row in (batch.table.to_pylist() if batch.table else [])
    ]


@pytest.fixture
def dataset_rows(store: ObjectStore) -> Callable[[str], Awaitable[list[dict[str, Any]]]]:
    async def read(url: str) -> list[dict[str, Any]]:
        return await read_rows(store, url)

    return read


class Crm:
    """Plays the CRM's side of the datasets in a test: reads requests, writes its own tables."""

    def __init__(self, store: ObjectStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def requests(self) -> list[dict[str, Any]]:
        return await read_rows(self.store, self.settings.new_drivers_url)

    async def distribute(
        self, pairs: list[tuple[dict[str, Any], dict[str, Any]]], connected: datetime
    ) -> None:
        """(newbie profile, mentor profile) pairs connected at `connected`."""
        rows = [
            {
                "newbie_park_id": n["park_id"],
                "newbie_driver_id": n["driver_id"],
                "mentor_park_id": m["park_id"],
                "mentor_driver_id": m["driver_id"],
                "connected_dttm": connected,
            }
            for n, m in pairs
        ]
        await write_dataset_part(self.store, self.settings.distribution_url, pa.Table.from_pylist(rows))

    async def results(self, newbie: dict[str, Any], **figures: str) -> None:
        row = {"newbie_park_id": newbie["park_id"], "newbie_driver_id": newbie["driver_id"], **figures}
        await write_dataset_part(self.store, self.settings.results_to_send_url, pa.Table.from_pylist([row]))

    async def promocodes(self, day: str, codes: dict[str, str]) -> None:
        rows = [{"entity_id": entity, "promocode": code} for entity, code in codes.items()]
        table = pa.Table.from_pylist(
            rows, schema=pa.schema([("entity_id", pa.string()), ("promocode", pa.string())])
        )
        await write_dataset_part(self.store, f"{self.settings.finished_promocodes_url}{day}/", table)


@pytest.fixture
def crm(store: ObjectStore, settings: Settings) -> Crm:
    return Crm(store, settings)


@pytest.fixture
def run_job(client: Any) -> Callable[[str], Awaitable[dict[str, int]]]:
    async def run(job: str) -> dict[str, int]:
        response = await client.post(f"/internal/admin/jobs/{job}/run", headers=ADMIN)
        assert response.status == 200, await response.text()
        return dict((await response.json())["counts"])

    return run


@pytest.fixture
def accept(client: Any) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def run(driver: dict[str, Any], profile: int = 0, status: int = 201) -> dict[str, Any]:
        response = await client.post("/driver/v1/mentorship/accept", headers=token_of(driver, profile))
        assert response.status == status, await response.text()
        return dict(await response.json())

    return run
