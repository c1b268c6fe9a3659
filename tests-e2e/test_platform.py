"""The stack as a user meets it: one gateway, every service behind it healthy, ready and documented."""

import aiohttp
import pytest
from stack_services import ROOT, present_services, render_docker_gateway

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
