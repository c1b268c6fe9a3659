"""`make run`: the whole stack on this machine, or `docker compose up` when a Docker engine answers.

Local run (`--local`, or QUINTET_NO_DOCKER=1, or no Docker engine): applies every service's migrations,
starts a local S3 server (moto) when QUINTET_S3_ENDPOINT is not set, the stand-ins (upstreams that do not
exist here), each present service's api and worker, and the nginx gateway. Ctrl-C (SIGINT) or SIGTERM
stops everything and exits 0. Ports can be moved with QUINTET_GATEWAY_PORT, QUINTET_STAND_INS_PORT and
<SERVICE>_PORT (the e2e tests do, to run beside a developer's stack).

While it runs, its pid is in .run/stack.pid (QUINTET_STATE_DIR moves the folder): `--detach` starts
the stack in the background (output in .run/stack.log), `--status` and `--stop` find it there.
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
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack_services import (
    ALL_SERVICES,
    ROOT,
    prepare_run_dir,
    present_services,
    render_docker_gateway,
    render_gateway,
    upstream_env,
)

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


class StackState:
    """The files through which `--status`/`--stop` find a running stack: stack.pid and gateway-url."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pid_file = folder / "stack.pid"
        self.url_file = folder / "gateway-url"
        self.log_file = folder / "stack.log"

    def running_pid(self) -> int | None:
        """The pid in stack.pid if that process is still a runner (a stale file or a reused pid is not)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if b"run_local.py" in cmdline else None

    def gateway_url(self) -> str | None:
        try:
            return self.url_file.read_text().strip() or None
        except OSError:
            return None

    def claim(self) -> None:
        other = self.running_pid()
        if other is not None and other != os.getpid():
            raise SystemExit(f"a stack is already running (pid {other}); `make stop` stops it")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(f"{os.getpid()}\n")
        self.url_file.unlink(missing_ok=True)

    def publish(self, gateway_url: str) -> None:
        self.url_file.write_text(f"{gateway_url}\n")

    def release(self) -> None:
        if self.running_pid() in (None, os.getpid()):
            self.pid_file.unlink(missing_ok=True)
            self.url_file.unlink(missing_ok=True)


def state() -> StackState:
    return StackState(Path(os.environ.get("QUINTET_STATE_DIR", ROOT / ".run")))


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
                process.wait()

    def watch(self) -> int:
        while True:
            for name, process in self.processes:
                if process.poll() is not None:
                    log(f"{name} exited with {process.returncode}; stopping the stack")
                    return 1
            time.sleep(0.5)


class Stop(Exception):
    """SIGINT or SIGTERM: stop the stack and exit 0."""


def _on_stop_signal(signum: int, _frame: object) -> None:
    # Once: a second Ctrl-C while stopping must not leave orphans behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Stop(signal.Signals(signum).name)


def install_stop_signals() -> None:
    """SIGINT and SIGTERM alike stop the stack. Set explicitly: a shell starting `make run` in the
    background (e.g. `setsid make run &`) hands it SIGINT ignored, which Python would keep."""
    signal.signal(signal.SIGINT, _on_stop_signal)
    signal.signal(signal.SIGTERM, _on_stop_signal)


def run_local() -> int:
    env = dict(os.environ)
    env.setdefault("QUINTET_PG_DSN", DEFAULT_PG_DSN)
    env.setdefault("QUINTET_ENV", "dev")
    gateway_port = int(env.get("QUINTET_GATEWAY_PORT", "8080"))
    stand_ins_port = int(env.get("QUINTET_STAND_INS_PORT", "8090"))
    stack = Stack()
    stack_state = state()
    run_dir: Path | None = None
    install_stop_signals()
    try:
        stack_state.claim()
        ensure_database(env["QUINTET_PG_DSN"])
        if not env.get("QUINTET_S3_ENDPOINT"):
            s3_port = int(env.get("QUINTET_LOCAL_S3_PORT", "9000"))
            env["QUINTET_S3_ENDPOINT"] = f"http://127.0.0.1:{s3_port}"
            log(f"no QUINTET_S3_ENDPOINT: starting a local S3 server (moto) on {env['QUINTET_S3_ENDPOINT']}")
            # moto keeps objects in memory: it records what it serves into .run/s3/, replayed at start
            # (deploy/reset.py: the local state and `make reset`).
            from reset import local_s3_env, replay_local_s3

            from quintet_testing.infra import local_s3_command

            s3_state = stack_state.folder / "s3"
            moto = stack.start(
                "s3",
                local_s3_command(s3_port),
                {**env, **local_s3_env(s3_state)},
                quiet=True,
            )
            wait_http(env["QUINTET_S3_ENDPOINT"] + "/moto-api/", 30, moto)
            if replayed := replay_local_s3(env["QUINTET_S3_ENDPOINT"], s3_state):
                log(f"local S3: {replayed} recorded changes replayed from {s3_state}")
        # The stand-ins get the platform env too (QUINTET_S3_*: the CRM stand-in reads and writes S3).
        stand_ins_url = f"http://127.0.0.1:{stand_ins_port}"
        stand_ins = stack.start(
            "stand-ins", [sys.executable, "-m", "quintet_stand_ins", "--port", str(stand_ins_port)], env
        )
        wait_http(f"{stand_ins_url}/health", 30, stand_ins)
        log(f"stand-ins on {stand_ins_url}")
        services = present_services()
        ports = {s.name: int(env.get(f"{s.env_prefix}PORT", s.port)) for s in services}
        service_envs = {
            s.name: {
                **s.local_env,
                **env,
                **upstream_env(s, stand_ins_url, env),
                f"{s.env_prefix}PORT": str(ports[s.name]),
            }
            for s in services
        }
        # Each service owns its schema, so their migrations run side by side, then every process starts
        # at once: on a small machine, starting them one after the other is most of the startup time.
        log(f"migrating {', '.join(s.name for s in services)}")
        migrations = [
            (s.name, subprocess.Popen([sys.executable, "-m", s.package, "migrate"], env=service_envs[s.name]))
            for s in services
        ]
        try:
            failed = [name for name, migration in migrations if migration.wait() != 0]
        except BaseException:  # stopped meanwhile: no migration outlives the runner
            for _, migration in migrations:
                migration.kill()
                migration.wait()
            raise
        if failed:
            raise RuntimeError(f"migrations failed: {', '.join(failed)}")
        apis = {}
        for s in services:
            argv = [sys.executable, "-m", s.package]
            apis[s.name] = stack.start(f"{s.name} api", [*argv, "api"], service_envs[s.name])
            stack.start(f"{s.name} worker", [*argv, "worker"], service_envs[s.name])
        for s in services:
            wait_http(f"http://127.0.0.1:{ports[s.name]}/health", 600, apis[s.name])
        upstreams = {s.name: f"127.0.0.1:{ports[s.name]}" for s in services}
        console_port = int(env.get("QUINTET_CONSOLE_PORT", "8089"))
        console_argv = [sys.executable, "-m", "quintet_console", "--port", str(console_port)]
        wait_http(f"http://127.0.0.1:{console_port}/health", 30, stack.start("console", console_argv, env))
        run_dir = Path(tempfile.mkdtemp(prefix="quintet-gateway-"))
        prepare_run_dir(run_dir)
        (run_dir / "nginx.conf").write_text(
            render_gateway(
                str(run_dir), f"127.0.0.1:{gateway_port}", upstreams, console=f"127.0.0.1:{console_port}"
            )
        )
        gateway = stack.start(
            "gateway", [ensure_nginx(), "-p", str(run_dir), "-c", str(run_dir / "nginx.conf")], env
        )
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        wait_http(f"{gateway_url}/health", 30, gateway)
        for name in upstreams:
            wait_http(f"{gateway_url}/{name}/health", 30, gateway)
        stack_state.publish(gateway_url)
        log(f"gateway ready on {gateway_url}/")
        for name in upstreams:
            log(f"  {name}: {gateway_url}/{name}/docs")
        log(f"  console: {gateway_url}/console/")
        log("Ctrl-C stops everything")
        return stack.watch()
    except Stop as stop:
        log(f"{stop}: stopping")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
        stack_state.release()


def run_docker() -> int:
    log("a Docker engine answers: docker compose up (QUINTET_NO_DOCKER=1 or --local runs without it)")
    compose = subprocess.Popen(["docker", "compose", "up", "--build"], cwd=ROOT)
    stack_state = state()
    install_stop_signals()
    try:
        stack_state.claim()
        stack_state.publish(f"http://127.0.0.1:{os.environ.get('QUINTET_GATEWAY_PORT', '8080')}")
        return compose.wait()
    except Stop:
        compose.send_signal(signal.SIGINT)  # compose stops the containers gracefully
        compose.wait()
        return 0
    finally:
        stack_state.release()


def detach(argv: list[str]) -> int:
    """Start the stack in its own session, output in .run/stack.log; return once the gateway answers."""
    stack_state = state()
    if (pid := stack_state.running_pid()) is not None:
        log(f"a stack is already running (pid {pid}); `make stop` stops it")
        return 1
    stack_state.folder.mkdir(parents=True, exist_ok=True)
    with stack_state.log_file.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *argv],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log(f"starting in the background (pid {process.pid}); output in {stack_state.log_file}")
    deadline = time.monotonic() + 900
    while stack_state.gateway_url() is None or stack_state.running_pid() != process.pid:
        if process.poll() is not None:
            log(f"the stack exited with {process.returncode}; see {stack_state.log_file}")
            return 1
        if time.monotonic() > deadline:
            log(f"the stack did not come up within 900 s; see {stack_state.log_file}")
            return 1
        time.sleep(0.3)
    log(f"ready: {stack_state.gateway_url()}/ (`make status`, `make stop`)")
    return 0


def show_status() -> int:
    stack_state = state()
    pid = stack_state.running_pid()
    if pid is None:
        print("stack: not running")
        return 3
    gateway = stack_state.gateway_url()
    print(f"stack: running (pid {pid}), gateway {gateway or 'starting'}")
    if gateway is None:
        return 0
    for service in ALL_SERVICES:
        try:
            with urllib.request.urlopen(f"{gateway}/{service.name}/health", timeout=3) as response:
                health = "healthy" if response.status == 200 else f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            health = "not running" if exc.code == 503 else f"HTTP {exc.code}"
        except OSError as exc:
            health = f"unreachable ({exc})"
        print(f"  {service.name:<22} {health}")
    return 0


def stop_background(timeout: float = 30.0) -> int:
    stack_state = state()
    pid = stack_state.running_pid()
    if pid is None:
        print("stack: not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while stack_state.running_pid() == pid and Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            print(f"stack (pid {pid}) did not stop within {timeout:.0f} s", file=sys.stderr)
            return 1
        time.sleep(0.2)
    print(f"stack (pid {pid}) stopped")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--local", action="store_true", help="run locally even if a Docker engine answers")
    parser.add_argument("--detach", action="store_true", help="start in the background (.run/stack.log)")
    parser.add_argument("--status", action="store_true", help="is a stack running, and its services' health")
    parser.add_argument("--stop", action="store_true", help="stop the stack started in the background")
    parser.add_argument(
        "--render-docker-gateway", action="store_true", help="print the gateway config for docker compose"
    )
    args = parser.parse_args()
    if args.render_docker_gateway:
        print(render_docker_gateway(), end="")
        return 0
    if args.status:
        return show_status()
    if args.stop:
        return stop_background()
    if args.detach:
        return detach(["--local"] if args.local else [])
    if not args.local and docker_engine_answers():
        return run_docker()
    return run_local()


if __name__ == "__main__":
    sys.exit(main())
