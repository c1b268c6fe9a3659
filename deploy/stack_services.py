"""The stack's services as the local runner and the gateway see them (folder, package, env prefix, port)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Service:
    name: str
    package: str
    env_prefix: str
    port: int

    @property
    def present(self) -> bool:
        return (ROOT / "services" / self.name / "pyproject.toml").exists()


ALL_SERVICES = [
    Service("segments", "segments", "SEGMENTS_", 8081),
    Service("personal-goals", "personal_goals", "PERSONAL_GOALS_", 8082),
    Service("contractor-mentorship", "contractor_mentorship", "CONTRACTOR_MENTORSHIP_", 8083),
    Service("vrs-import", "vrs_import", "VRS_IMPORT_", 8084),
    Service("posm", "posm", "POSM_", 8085),
]


def present_services() -> list[Service]:
    """Services with a folder in this checkout; QUINTET_SERVICES=a,b narrows the set (e.g. to run two)."""
    wanted = {name.strip() for name in os.environ.get("QUINTET_SERVICES", "").split(",") if name.strip()}
    return [s for s in ALL_SERVICES if s.present and (not wanted or s.name in wanted)]


def render_gateway(run_dir: str, listen: str, upstreams: dict[str, str]) -> str:
    gateway = ROOT / "deploy" / "gateway"
    location = (gateway / "location.template").read_text()
    locations = "".join(location.format(service=name, upstream=up) for name, up in upstreams.items())
    return (
        (gateway / "nginx.conf.template")
        .read_text()
        .format(run_dir=run_dir, listen=listen, locations=locations.rstrip("\n"))
    )


def render_docker_gateway() -> str:
    """The gateway config docker compose mounts (deploy/gateway/nginx.docker.conf, checked in)."""
    upstreams = {s.name: f"{s.name}-api:{s.port}" for s in ALL_SERVICES if s.present}
    return render_gateway("/tmp", "8080", upstreams).replace("daemon off;\n", "")
