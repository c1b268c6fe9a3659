"""The stack as a user meets it: one gateway, every service behind it healthy, ready and documented;
the runner started in the foreground or the background, and stopped cleanly either way."""

import os
import signal
import socket
import subprocess
from pathlib import Path

import aiohttp
import pytest
from stack_services import ALL_SERVICES, ROOT, present_services, render_docker_gateway, upstream_env

from quintet_testing import eventually_blocking

SERVICES = [s.name for s in present_services()]


async def test_gateway_answers_health(stack):
    async with aiohttp.ClientSession() as http, http.get(f"{stack.gateway}/health") as response:
        assert response.status == 200
        assert (await response.json())["status"] == "ok"


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_is_healthy_and_documented_through_the_gateway(stack, service):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.gateway}/{service}/health") as response:
            assert (await response.json())["service"] == service
        async with http.get(f"{stack.gateway}/{service}/openapi.json") as response:
            spec = await response.json()
            assert spec["servers"] == [{"url": f"/{service}"}]
            assert spec["paths"]
        async with http.get(f"{stack.gateway}/{service}/docs") as response:
            assert response.status == 200
        async with http.get(f"{stack.gateway}/{service}/docs/static/swagger-ui.css") as response:
            assert response.status == 200


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_is_ready_on_its_own_port(stack, service):
    port = stack.env[next(s.env_prefix for s in present_services() if s.name == service) + "PORT"]
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/ready") as response:
        body = await response.json()
        assert response.status == 200, body


@pytest.mark.parametrize("service", SERVICES)
async def test_request_id_crosses_the_gateway(stack, service):
    async with aiohttp.ClientSession() as http:
        headers = {"X-Request-Id": "e2e-request-1"}
        async with http.get(f"{stack.gateway}/{service}/health", headers=headers) as response:
            assert response.headers["X-Request-Id"] == "e2e-request-1"


def test_docker_compose_gateway_config_is_current():
    """docker compose mounts a rendered config: it must route to every service this checkout has."""
    committed = (ROOT / "deploy" / "gateway" / "nginx.docker.conf").read_text()
    assert committed == render_docker_gateway(), "run: python deploy/run_local.py --render-docker-gateway"


async def test_the_stand_ins_answer(stack):
    async with aiohttp.ClientSession() as http, http.get(f"{stack.stand_ins}/health") as response:
        assert response.status == 200


@pytest.mark.parametrize(
    ("service", "environ", "expected"),
    [
        (
            "vrs-import",
            {},
            {"VRS_IMPORT_SOLVER_URL": "http://127.0.0.1:8090"},
        ),
        (
            "contractor-mentorship",
            {"CONTRACTOR_MENTORSHIP_GEOBASE_URL": "http://geobase.example"},
            {
                "CONTRACTOR_MENTORSHIP_DRIVER_PROFILES_URL": "http://127.0.0.1:8090/driver-profiles",
                "CONTRACTOR_MENTORSHIP_PERSONAL_URL": "http://127.0.0.1:8090/personal",
                "CONTRACTOR_MENTORSHIP_TRACKSTORY_URL": "http://127.0.0.1:8090/trackstory",
                "CONTRACTOR_MENTORSHIP_FLEET_RENT_URL": "http://127.0.0.1:8090/fleet-rent",
                "CONTRACTOR_MENTORSHIP_CLIENT_EVENTS_URL": "http://127.0.0.1:8090/client-events",
            },
        ),
        ("segments", {}, {}),
    ],
)
def test_upstream_urls_point_at_the_stand_ins_unless_the_environment_sets_them(service, environ, expected):
    declared = next(s for s in ALL_SERVICES if s.name == service)
    assert upstream_env(declared, "http://127.0.0.1:8090", environ) == expected


MAKE = ["make", "-s", "--no-print-directory"]


def _make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MAKE, target], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)


def _answers(port: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=1):
            return True
    except OSError:
        return False


def test_a_stack_started_in_the_background_is_seen_by_status_and_stopped_by_make_stop(bare_stack_env):
    state = Path(bare_stack_env["QUINTET_STATE_DIR"])
    started = _make("start", bare_stack_env)
    assert started.returncode == 0, started.stdout + started.stderr
    status = _make("status", bare_stack_env)
    assert "stack: running" in status.stdout, status.stdout
    for service in ALL_SERVICES:  # none runs (QUINTET_SERVICES=none), and the gateway says so
        assert f"{service.name} " in status.stdout and "not running" in status.stdout, status.stdout
    stopped = _make("stop", bare_stack_env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    assert "stack: not running" in _make("status", bare_stack_env).stdout
    assert not (state / "stack.pid").exists()
    assert not _answers(bare_stack_env["QUINTET_GATEWAY_PORT"])
    log = (state / "stack.log").read_text()
    assert "SIGTERM: stopping" in log and "exited with" not in log, log


def test_setsid_make_run_stopped_with_sigint_exits_0_without_an_error(bare_stack_env, tmp_path):
    """As `setsid make run &` from a script: SIGINT arrives ignored-by-inheritance, then the whole
    session gets SIGINT. The runner must still take it as a stop, not as its gateway dying."""
    state = Path(bare_stack_env["QUINTET_STATE_DIR"])
    output_file = tmp_path / "make-run.log"
    with output_file.open("wb") as output:
        make = subprocess.Popen(
            ["bash", "-c", f"trap '' INT; exec {' '.join(MAKE)} run"],
            env=bare_stack_env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        eventually_blocking(lambda: (state / "gateway-url").exists() or make.poll() is not None, timeout=600)
        assert make.poll() is None, output_file.read_text()
        os.killpg(make.pid, signal.SIGINT)
        returncode = make.wait(timeout=30)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    output = output_file.read_text()
    assert returncode == 0, output
    runner_lines = [line for line in output.splitlines() if line.startswith(("[run] ", "make: "))]
    assert not [line for line in runner_lines if "exited with" in line or "***" in line], runner_lines
    assert "[run] SIGINT: stopping" in runner_lines, runner_lines
    assert not _answers(bare_stack_env["QUINTET_GATEWAY_PORT"])


def _compose() -> dict:
    import yaml  # comes with moto[server], a dev dependency

    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.mark.parametrize("service", ["postgres", "rabbitmq", "minio", "gateway"])
def test_compose_publishes_ports_on_this_machine_only(service):
    ports = _compose()["services"][service].get("ports", [])
    assert ports, service
    for port in ports:
        assert port.startswith(("127.0.0.1:", "${QUINTET_GATEWAY_BIND:-127.0.0.1}:")), port


@pytest.mark.parametrize(
    ("service", "variable"),
    [
        ("postgres", "POSTGRES_PASSWORD"),
        ("rabbitmq", "RABBITMQ_DEFAULT_PASS"),
        ("minio", "MINIO_ROOT_PASSWORD"),
    ],
)
def test_compose_takes_infrastructure_credentials_from_the_environment(service, variable):
    value = _compose()["services"][service]["environment"][variable]
    assert value.startswith("${QUINTET_"), value


def test_the_image_runs_as_an_unprivileged_user():
    users = [
        line.split()[1]
        for line in (ROOT / "deploy" / "Dockerfile").read_text().splitlines()
        if line.startswith("USER ")
    ]
    assert users and users[-1] not in {"root", "0"}, users
