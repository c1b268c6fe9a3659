"""The stack's services as the local runner and the gateway see them (folder, package, env prefix, port)."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GATEWAY = ROOT / "deploy" / "gateway"


@dataclass(frozen=True)
class Service:
    name: str
    package: str
    env_prefix: str
    port: int
    # Upstreams played by the stand-ins in a local run: env-var suffix -> path under the stand-ins' base
    # URL. The runner sets <env_prefix><SUFFIX>_URL to it unless the environment already sets it.
    upstreams: dict[str, str] = field(default_factory=dict)
    # Extra environment for the local run (the runner's environment wins over it).
    local_env: dict[str, str] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return (ROOT / "services" / self.name / "pyproject.toml").exists()


ALL_SERVICES = [
    Service("segments", "segments", "SEGMENTS_", 8081),
    Service("personal-goals", "personal_goals", "PERSONAL_GOALS_", 8082),
    Service(
        "contractor-mentorship",
        "contractor_mentorship",
        "CONTRACTOR_MENTORSHIP_",
        8083,
        upstreams={
            "DRIVER_PROFILES": "/driver-profiles",
            "PERSONAL": "/personal",
            "TRACKSTORY": "/trackstory",
            "GEOBASE": "/geobase",
            "FLEET_RENT": "/fleet-rent",
            "CLIENT_EVENTS": "/client-events",
        },
        # A local demo moves: the CRM imports run every few seconds (production: 5 min, 1 h, 1 day).
        local_env={
            "CONTRACTOR_MENTORSHIP_IMPORT_MATCHINGS_PERIOD_SECONDS": "5",
            "CONTRACTOR_MENTORSHIP_IMPORT_PROGRESS_PERIOD_SECONDS": "10",
            "CONTRACTOR_MENTORSHIP_IMPORT_FINISHED_PERIOD_SECONDS": "30",
            "CONTRACTOR_MENTORSHIP_ARCHIVE_PERIOD_SECONDS": "60",
        },
    ),
    # The solver stand-in serves the solver's own paths (/vrs/api/v1/...) at the root.
    Service("vrs-import", "vrs_import", "VRS_IMPORT_", 8084, upstreams={"SOLVER": ""}),
    # The local stack runs the generation scheduler every 5 seconds (a minute by default).
    Service("posm", "posm", "POSM_", 8085, local_env={"POSM_SCHEDULER_PERIOD_SECONDS": "5"}),
]


def present_services() -> list[Service]:
    """Services with a folder in this checkout; QUINTET_SERVICES=a,b narrows the set (e.g. to run two),
    QUINTET_SERVICES=none starts none (the gateway and the stand-ins only)."""
    wanted = {name.strip() for name in os.environ.get("QUINTET_SERVICES", "").split(",") if name.strip()}
    return [s for s in ALL_SERVICES if s.present and (not wanted or s.name in wanted)]


def upstream_env(service: Service, stand_ins_url: str, environ: dict[str, str]) -> dict[str, str]:
    """The <PREFIX><UPSTREAM>_URL settings pointing at the stand-ins, except those `environ` sets."""
    urls = {
        f"{service.env_prefix}{suffix}_URL": stand_ins_url + path
        for suffix, path in service.upstreams.items()
    }
    return {name: url for name, url in urls.items() if name not in environ}


def project_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


_ROUTED = """        location /{service}/ {{
            proxy_pass http://{upstream_name}/;
        }}
"""
_NOT_ROUTED = """        location /{service}/ {{
            return 503;
        }}
        location = /{service} {{
            return 503;
        }}
"""
_UPSTREAM = """    upstream {upstream_name} {{
        server {address} max_fails=0;
        keepalive 16;
        keepalive_timeout 30s;
    }}
"""


def render_gateway(
    run_dir: str,
    listen: str,
    upstreams: dict[str, str],
    *,
    www_dir: str | None = None,
    read_timeout: str = "300s",
    console: str = "127.0.0.1:8089",
) -> str:
    """The nginx config: `upstreams` maps a running service's name to its api's host:port; every other
    known service answers 503 service_not_started. `www_dir` holds the front door (default: run_dir/www,
    where `prepare_run_dir` copies it); `console` is the admin console's host:port (deploy/console)."""
    known = [s.name for s in ALL_SERVICES]
    unknown = sorted(set(upstreams) - set(known))
    if unknown:
        raise ValueError(f"not services of this stack: {unknown}")
    locations = "".join(
        _ROUTED.format(service=name, upstream_name=_upstream_name(name))
        if name in upstreams
        else _NOT_ROUTED.format(service=name)
        for name in known
    )
    upstream_blocks = "".join(
        _UPSTREAM.format(upstream_name=_upstream_name(name), address=address)
        for name, address in upstreams.items()
    )
    prefixes = [f"/{name}/" for name in known]
    values = {
        "RUN_DIR": run_dir,
        "LISTEN": listen,
        "READ_TIMEOUT": read_timeout,
        "WWW_DIR": www_dir or f"{run_dir}/www",
        "SERVICE_ALTERNATION": "|".join(known),
        "UPSTREAMS": upstream_blocks.rstrip("\n"),
        "LOCATIONS": locations.rstrip("\n"),
        "PREFIX_LIST": ", ".join(prefixes),
        "PREFIX_JSON": ", ".join(json.dumps(p) for p in prefixes),
        "VERSION_JSON": json.dumps({"version": project_version(), "services": known}),
        "CONSOLE": console,
    }
    config = (GATEWAY / "nginx.conf.template").read_text()
    for name, value in values.items():
        config = config.replace(f"%%{name}%%", value)
    return config


def _upstream_name(service: str) -> str:
    return "quintet_" + service.replace("-", "_")


def prepare_run_dir(run_dir: Path) -> None:
    """Make the run dir usable by nginx workers (which run as `nobody` when started by root) and copy
    the front door into it, so that no folder of the checkout needs to be readable by them."""
    run_dir.chmod(0o755)
    shutil.copytree(GATEWAY / "www", run_dir / "www", dirs_exist_ok=True)


def render_docker_gateway() -> str:
    """The gateway config docker compose mounts (deploy/gateway/nginx.docker.conf, checked in). It routes
    to the services with an `<name>-api` block in docker-compose.yml (nginx would not start on a host
    name compose does not define); the others answer 503 service_not_started."""
    compose = (ROOT / "docker-compose.yml").read_text()
    upstreams = {
        s.name: f"{s.name}-api:{s.port}"
        for s in ALL_SERVICES
        if s.present and f"\n  {s.name}-api:" in compose
    }
    return render_gateway(
        "/tmp", "8080", upstreams, www_dir="/usr/share/quintet/www", console="console:8089"
    ).replace("daemon off;\n", "")
