"""The operator tools: `make put-dataset` (deploy/put_dataset.py), the examples/ HTTP collection and
datasets, `make reset` (deploy/reset.py) and `make demo` (deploy/demo.py)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
from stack_services import ALL_SERVICES, Service  # noqa: E402

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
