"""`make run`: the whole stack on this machine, or `docker compose up` when a Docker engine answers.

Local run: applies every service's migrations, starts each present service's api and worker, a local
S3 server (moto) when QUINTET_S3_ENDPOINT is not set, and the nginx gateway. Ctrl-C stops everything.
Ports can be moved with QUINTET_GATEWAY_PORT and <SERVICE>_PORT (the e2e tests do, to run beside a
developer's stack).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack_services import ROOT, present_services, render_docker_gateway, render_gateway

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/quintet"


def log(message: str) -> None:
    print(f"[run] {message}", flush=True)


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None or os.environ.get("QUINTET_NO_DOCKER"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_nginx() -> str:
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if found:
        return str(found)
    log("nginx is not installed; installing it with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx-light"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-q"], env=env, check=True, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)
    # The Debian package may start a system nginx on port 80; ours runs on its own config and port.
    return shutil.which("nginx") or "/usr/sbin/nginx"


def ensure_database(dsn: str) -> None:
    import psycopg
    from psycopg import sql

    name = dsn.rsplit("/", 1)[1].split("?")[0]
    maintenance = dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f}s")
        time.sleep(0.2)


class Stack:
    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, argv: list[str], env: dict[str, str], *, quiet: bool = False
    ) -> subprocess.Popen[bytes]:
        output = subprocess.DEVNULL if quiet else None
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=output, stderr=output)
        self.processes.append((name, process))
        return process

    def stop(self) -> None:
        # A second Ctrl-C must not leave orphans behind: finish stopping first.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for name, process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in time; killing it")
                process.kill()

    def watch(self) -> int:
        while True:
            for name, process in self.processes:
                if process.poll() is not None:
                    log(f"{name} exited with {process.returncode}; stopping the stack")
                    return 1
            time.sleep(0.5)


def with_console(config: str, address: str) -> str:
    """The gateway config with the admin console's upstream (host:port) filled in."""
    return config.replace("%%CONSOLE%%", address)


def run_local() -> int:
    env = dict(os.environ)
    env.setdefault("QUINTET_PG_DSN", DEFAULT_PG_DSN)
    env.setdefault("QUINTET_ENV", "dev")
    gateway_port = int(env.get("QUINTET_GATEWAY_PORT", "8080"))
    stack = Stack()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        ensure_database(env["QUINTET_PG_DSN"])
        if not env.get("QUINTET_S3_ENDPOINT"):
            s3_port = int(env.get("QUINTET_LOCAL_S3_PORT", "9000"))
            env["QUINTET_S3_ENDPOINT"] = f"http://127.0.0.1:{s3_port}"
            log(f"no QUINTET_S3_ENDPOINT: starting a local S3 server (moto) on {env['QUINTET_S3_ENDPOINT']}")
            moto = stack.start(
                "s3",
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                env,
                quiet=True,
            )
            wait_http(env["QUINTET_S3_ENDPOINT"] + "/moto-api/", 30, moto)
        upstreams: dict[str, str] = {}
        for service in present_services():
            port = int(env.get(f"{service.env_prefix}PORT", service.port))
            service_env = {**env, f"{service.env_prefix}PORT": str(port)}
            log(f"{service.name}: migrating")
            subprocess.run([sys.executable, "-m", service.package, "migrate"], env=service_env, check=True)
            api = stack.start(
                f"{service.name} api", [sys.executable, "-m", service.package, "api"], service_env
            )
            stack.start(
                f"{service.name} worker", [sys.executable, "-m", service.package, "worker"], service_env
            )
            wait_http(f"http://127.0.0.1:{port}/health", 60, api)
            upstreams[service.name] = f"127.0.0.1:{port}"
        console_port = int(env.get("CONSOLE_PORT", "8089"))
        console_argv = [sys.executable, "-m", "quintet_console", "--port", str(console_port)]
        wait_http(f"http://127.0.0.1:{console_port}/health", 30, stack.start("console", console_argv, env))
        run_dir = Path(tempfile.mkdtemp(prefix="quintet-gateway-"))
        config = render_gateway(str(run_dir), f"127.0.0.1:{gateway_port}", upstreams)
        (run_dir / "nginx.conf").write_text(with_console(config, f"127.0.0.1:{console_port}"))
        gateway = stack.start(
            "gateway", [ensure_nginx(), "-p", str(run_dir), "-c", str(run_dir / "nginx.conf")], env
        )
        wait_http(f"http://127.0.0.1:{gateway_port}/health", 30, gateway)
        for name in upstreams:
            wait_http(f"http://127.0.0.1:{gateway_port}/{name}/health", 30, gateway)
        log(f"gateway ready on http://127.0.0.1:{gateway_port}")
        for name in upstreams:
            log(f"  {name}: http://127.0.0.1:{gateway_port}/{name}/docs")
        log(f"  console: http://127.0.0.1:{gateway_port}/console/")
        log("Ctrl-C stops everything")
        return stack.watch()
    except KeyboardInterrupt:
        log("stopping")
        return 0
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--local", action="store_true", help="run locally even if a Docker engine answers")
    parser.add_argument(
        "--render-docker-gateway", action="store_true", help="print the gateway config for docker compose"
    )
    args = parser.parse_args()
    if args.render_docker_gateway:
        print(with_console(render_docker_gateway(), "console:8089"), end="")
        return 0
    if not args.local and docker_engine_answers():
        log("a Docker engine answers: docker compose up")
        return subprocess.call(["docker", "compose", "up", "--build"], cwd=ROOT)
    return run_local()


if __name__ == "__main__":
    sys.exit(main())
