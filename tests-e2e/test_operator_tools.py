"""The operator tools: `make put-dataset` (deploy/put_dataset.py), the examples/ HTTP collection and
datasets, `make reset` (deploy/reset.py) and `make demo` (deploy/demo.py)."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
from stack_services import ALL_SERVICES, Service, present_services  # noqa: E402

HTTP = ROOT / "examples" / "http"
DATASETS = ROOT / "examples" / "datasets"
PRESENT = [s for s in ALL_SERVICES if s.present]
_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(\S+)")


def http_requests(service: Service) -> list[tuple[str, str]]:
    """(method, path under the service) of every request of examples/http/<service>.http sent through
    the gateway; requests to other hosts ({{solver}}: a stand-in) are not the service's."""
    prefix = "{{gateway}}/" + service.name
    requests = []
    for line in (HTTP / f"{service.name}.http").read_text().splitlines():
        match = _REQUEST_LINE.match(line)
        if match and match[2].startswith(prefix + "/"):
            path = match[2][len(prefix) :].split("?", 1)[0]
            requests.append((match[1], path))
    return requests


def openapi_routes(service: Service) -> list[tuple[str, re.Pattern[str]]]:
    """(method, path pattern) of every route the service declares (its RouteTable: its OpenAPI)."""
    table = importlib.import_module(f"{service.package}.api.routes").routes
    patterns = []
    for spec in table.routes:
        parts = re.split(r"(\{[^}]+\})", spec.path)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        patterns.append((spec.method, re.compile(f"^{regex}$")))
    return patterns


def _matches(method: str, path: str, routes: list[tuple[str, re.Pattern[str]]]) -> bool:
    concrete = re.sub(r"\{\{[^}]+\}\}", "VAR", path)
    return any(m == method and pattern.match(concrete) for m, pattern in routes)


@pytest.mark.parametrize("service", PRESENT, ids=lambda s: s.name)
def test_http_collection_names_only_paths_of_the_services_openapi(service: Service) -> None:
    routes = openapi_routes(service)
    unknown = [(m, p) for m, p in http_requests(service) if not _matches(m, p, routes)]
    assert not unknown, f"{service.name}.http names paths its OpenAPI does not have: {unknown}"


@pytest.mark.parametrize("service", PRESENT, ids=lambda s: s.name)
def test_http_collection_covers_every_endpoint_of_the_service(service: Service) -> None:
    requests = http_requests(service)
    missing = [
        (method, pattern.pattern)
        for method, pattern in openapi_routes(service)
        if not any(_matches(m, p, [(method, pattern)]) for m, p in requests)
    ]
    assert not missing, f"{service.name}.http lacks endpoints: {missing}"


def put_dataset(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "put_dataset.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def s3_env(s3_endpoint: str, s3_credentials: dict[str, str]) -> dict[str, str]:
    import os

    return {
        **os.environ,
        "QUINTET_S3_ENDPOINT": s3_endpoint,
        "QUINTET_S3_ACCESS_KEY": s3_credentials["access_key"],
        "QUINTET_S3_SECRET_KEY": s3_credentials["secret_key"],
    }


@pytest.mark.parametrize(
    ("file", "to", "key"),
    [
        ("goals.parquet", "s3://ops-put-new-bucket/goals/goals.parquet", "goals/goals.parquet"),
        ("goals.jsonl", "s3://ops-put-new-bucket/parts/", "parts/goals.jsonl"),
        ("goals.csv", "s3://ops-put-new-bucket/renamed.csv", "renamed.csv"),
    ],
)
async def test_put_dataset_stores_the_file_creating_the_bucket(
    s3_env: dict[str, str], s3, file: str, to: str, key: str
) -> None:
    result = put_dataset(s3_env, str(DATASETS / file), to)

    assert result.returncode == 0, result.stderr
    stored = await s3.get_object(Bucket="ops-put-new-bucket", Key=key)
    assert await stored["Body"].read() == (DATASETS / file).read_bytes()


@pytest.mark.parametrize(
    ("file", "to", "says"),
    [
        ("missing.parquet", "s3://ops-bucket/x.parquet", "no such file"),
        ("goals.csv", "goals-datasets/x.csv", "must start with s3://"),
        ("goals.csv", "s3://Bad_Bucket/x.csv", "not a valid bucket name"),
        ("goals.csv", "s3://ops-bucket/x.txt", "cannot tell the format"),
        ("generate.py", "s3://ops-bucket/prefix/", "cannot tell its format"),
    ],
)
def test_put_dataset_refuses_a_missing_file_or_a_bad_address_with_exit_code_2(
    s3_env: dict[str, str], file: str, to: str, says: str
) -> None:
    result = put_dataset(s3_env, str(DATASETS / file), to)

    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_put_dataset_says_when_s3_does_not_answer(s3_env: dict[str, str]) -> None:
    from quintet_testing import free_port

    env = {**s3_env, "QUINTET_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}"}

    result = put_dataset(env, str(DATASETS / "goals.csv"), "s3://ops-bucket/x.csv")

    assert result.returncode == 1
    assert "cannot store s3://ops-bucket/x.csv" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the local S3 keeps its state across restarts (moto's recorder, replayed by deploy/reset.py) ----


def _moto(folder: Path, port: int) -> subprocess.Popen[bytes]:
    import os

    from reset import local_s3_env

    from quintet_testing.infra import local_s3_command, wait_for_http

    process = subprocess.Popen(
        local_s3_command(port),
        env={**os.environ, **local_s3_env(folder)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_http(f"http://127.0.0.1:{port}/moto-api/")
    return process


async def _objects(endpoint: str) -> dict[str, bytes]:
    from quintet_s3 import s3_client

    found = {}
    async with s3_client(endpoint, "test", "test") as client:
        for bucket in (await client.list_buckets()).get("Buckets", []):
            listed = await client.list_objects_v2(Bucket=bucket["Name"])
            for item in listed.get("Contents", []):
                got = await client.get_object(Bucket=bucket["Name"], Key=item["Key"])
                found[f"{bucket['Name']}/{item['Key']}"] = await got["Body"].read()
    return found


async def test_local_s3_has_its_objects_again_after_a_restart(tmp_path: Path) -> None:
    from reset import replay_local_s3

    from quintet_s3 import ObjectStore, s3_client
    from quintet_testing import free_port

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    big = bytes(range(256)) * (9 * 4096)  # 9 MiB: a multipart upload of two parts

    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(big), 1 << 20):
            yield big[start : start + (1 << 20)]

    moto = _moto(tmp_path, port)
    try:
        async with s3_client(endpoint, "test", "test") as client:
            store = ObjectStore(client)
            await store.ensure_bucket("kept")
            await store.put("kept", "small.csv", b"a,b\n1,2\n")
            await store.put("kept", "gone.csv", b"x\n")
            await store.delete("kept", "gone.csv")
            await store.upload_stream("kept", "big.bin", chunks())
        before = await _objects(endpoint)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    moto = _moto(tmp_path, port)
    try:
        replayed = replay_local_s3(endpoint, tmp_path)
        after = await _objects(endpoint)
        replayed_again = replay_local_s3(endpoint, tmp_path)  # a replay records nothing more
    finally:
        moto.terminate()
        moto.wait(timeout=10)

    assert sorted(before) == ["kept/big.bin", "kept/small.csv"]
    assert after == before
    assert replayed == replayed_again > 0
    # The log was compacted to the changes: the reads above (listing, GetObject) are not in it.
    lines = (tmp_path / "recording.jsonl").read_text().splitlines()
    assert len(lines) == replayed
    assert {json.loads(line)["method"] for line in lines} <= {"PUT", "POST", "DELETE"}


# ---- make reset (deploy/reset.py) ----


@pytest.fixture
async def throwaway(database_factory, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A database holding every service schema and one more, a state dir with an S3 folder, and a
    local S3 server (its own: a reset empties it) holding a bucket."""
    import os

    import asyncpg
    from reset import service_schemas

    from quintet_testing import free_port

    dsn = await database_factory.create()
    connection = await asyncpg.connect(dsn)
    for schema in [*service_schemas(), "not_a_service"]:
        await connection.execute(f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".t (id int)')
    await connection.close()
    (tmp_path / "s3").mkdir()
    (tmp_path / "s3" / "recording.jsonl").write_text("")
    port = free_port()
    moto = _moto(tmp_path / "moto", port)
    endpoint = f"http://127.0.0.1:{port}"
    from quintet_s3 import ObjectStore, s3_client

    async with s3_client(endpoint, "test", "test") as client:
        await ObjectStore(client).ensure_bucket("goals-datasets")
        await ObjectStore(client).put("goals-datasets", "a.csv", b"x\n")
    env = {
        **os.environ,
        "QUINTET_PG_DSN": dsn,
        "QUINTET_STATE_DIR": str(tmp_path),
        "QUINTET_S3_ENDPOINT": endpoint,
        "QUINTET_S3_ACCESS_KEY": "test",
        "QUINTET_S3_SECRET_KEY": "test",
        "QUINTET_ENV": "dev",
    }
    yield env
    moto.terminate()
    moto.wait(timeout=10)


async def _schemas(dsn: str) -> set[str]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        return {r["nspname"] for r in await connection.fetch("SELECT nspname FROM pg_namespace")}
    finally:
        await connection.close()


def reset(env: dict[str, str], *args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "reset.py"), *args],
        env=env,
        input=answer,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("args", "answer"), [(["--force"], ""), ([], "reset\n")])
async def test_reset_drops_every_service_schema_and_the_local_s3_state(
    throwaway: dict[str, str], args: list[str], answer: str
) -> None:
    from reset import service_schemas

    result = reset(throwaway, *args, answer=answer)

    assert result.returncode == 0, result.stdout + result.stderr
    schemas = await _schemas(throwaway["QUINTET_PG_DSN"])
    assert not schemas & set(service_schemas())
    assert "not_a_service" in schemas
    assert not (Path(throwaway["QUINTET_STATE_DIR"]) / "s3").exists()
    assert await _objects(throwaway["QUINTET_S3_ENDPOINT"]) == {}


@pytest.mark.parametrize(
    ("env", "answer", "code"),
    [({"QUINTET_ENV": "prod"}, "reset\n", 2), ({}, "no\n", 1), ({}, "", 1)],
    ids=["prod", "not-confirmed", "no-answer"],
)
async def test_reset_changes_nothing_in_prod_or_unconfirmed(
    throwaway: dict[str, str], env: dict[str, str], answer: str, code: int
) -> None:
    from reset import service_schemas

    result = reset({**throwaway, **env}, answer=answer)

    assert result.returncode == code
    assert set(service_schemas()) <= await _schemas(throwaway["QUINTET_PG_DSN"])
    assert (Path(throwaway["QUINTET_STATE_DIR"]) / "s3").exists()
    assert await _objects(throwaway["QUINTET_S3_ENDPOINT"]) != {}


# ---- make demo (deploy/demo.py) ----


@pytest.mark.loads_the_shared_stack
async def test_demo_loads_its_world_and_runs_twice_without_error(stack: Any) -> None:
    from demo import PLACE_ID, token

    env = {
        **stack.env,
        "QUINTET_GATEWAY_URL": stack.gateway,
        "QUINTET_STAND_INS_URL": stack.stand_ins,
    }
    runs = [
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(ROOT / "deploy" / "demo.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        for _ in range(2)
    ]

    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    first, second = runs[0].stdout, runs[1].stdout
    assert "selections winter-eats, winter-econom active" in first or "winter-econom" in first
    started = {s.name for s in present_services()}
    for service in {s.name for s in ALL_SERVICES} - started:
        assert f"{service}: not started in this stack, skipped" in first
    if "posm" in started:
        assert "generation" in first and "done" in first
    if "vrs-import" in started:
        assert "imported into company 1" in first
        assert "has routes on 2026-12-10 already" in second
    else:
        assert "vrs-import: not started in this stack, skipped" in first
    if "contractor-mentorship" in started:
        assert "is initialized" in first and "is initialized" in second
    else:
        assert "contractor-mentorship: not started in this stack, skipped" in first
    assert "make -s token SCOPE='segments:read segments:write'" in first

    # what it loaded, read back through the gateway

    async with aiohttp.ClientSession() as http:
        user = {"Authorization": f"Bearer {token('goals:read', sub='demo-user-1')}"}
        async with http.get(f"{stack.gateway}/personal-goals/v1/goals", headers=user) as response:
            goals = await response.json()
        posm = {"Authorization": f"Bearer {token('posm:read')}"}
        async with http.get(f"{stack.gateway}/posm/api/v1/places/{PLACE_ID}/generations", headers=posm) as r:
            generations = await r.json() if r.status == 200 else {"items": []}
        seg = {"Authorization": f"Bearer {token('segments:read')}"}
        async with http.get(f"{stack.gateway}/segments/api/v1/segments", headers=seg) as response:
            segments = await response.json()

    assert {g["goal_id"] for g in goals} >= {
        "winter-econom-demo-user-1",
        "winter-eats-demo-user-1",
    }
    if "posm" in {s.name for s in present_services()}:
        assert [g["status"] for g in generations["items"]] == ["done"]
    assert {"DEMO_NEW_CHECKOUT": 30} == {  # slugs are stored in upper case
        s["slug"]: s["percent"] for s in segments if s["slug"] == "DEMO_NEW_CHECKOUT"
    }
