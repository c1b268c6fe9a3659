"""Black-box journeys through the gateway against the running stack.

The stack is started exactly as `make run` starts it (deploy/run_local.py), on free ports, against a
fresh database, this session's RabbitMQ vhost and the session's S3 server, and stopped afterwards. Its
output (the gateway's access log among it) goes to `stack.log`, printed when the stack fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from quintet_testing import eventually_blocking, free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
from stack_services import present_services  # noqa: E402


@dataclass(frozen=True)
class Stack:
    gateway: str
    stand_ins: str
    s3_endpoint: str
    env: dict[str, str]
    log: Path


@pytest.fixture(scope="session")
async def stack_database(database_factory) -> str:
    return await database_factory.create()


@pytest.fixture(scope="session")
def stack(
    stack_database: str, amqp_url: str, s3_endpoint: str, s3_credentials, tmp_path_factory
) -> Iterator[Stack]:
    gateway_port, stand_ins_port = free_port(), free_port()
    state_dir = tmp_path_factory.mktemp("stack")
    log = state_dir / "stack.log"
    env = {
        **os.environ,
        "QUINTET_PG_DSN": stack_database,
        "QUINTET_AMQP_URL": amqp_url,
        "QUINTET_S3_ENDPOINT": s3_endpoint,
        "QUINTET_S3_ACCESS_KEY": s3_credentials["access_key"],
        "QUINTET_S3_SECRET_KEY": s3_credentials["secret_key"],
        "QUINTET_GATEWAY_PORT": str(gateway_port),
        "QUINTET_STAND_INS_PORT": str(stand_ins_port),
        "QUINTET_STATE_DIR": str(state_dir),
        "QUINTET_LOG_LEVEL": "WARNING",
    }
    for service in present_services():
        env[f"{service.env_prefix}PORT"] = str(free_port())
    env["QUINTET_CONSOLE_PORT"] = str(free_port())
    # The runner's temp folders (the gateway's run dir) go here, so none can be confused with another's.
    # Not under pytest's tmp_path: nginx workers (`nobody` when root starts nginx) must reach it.
    run_tmp = Path(tempfile.mkdtemp(prefix="quintet-e2e-"))
    run_tmp.chmod(0o755)
    env["TMPDIR"] = str(run_tmp)
    with log.open("ab") as output:  # append mode: nginx opens /dev/stdout on its own
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "run_local.py"), "--local"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    gateway = f"http://127.0.0.1:{gateway_port}"
    try:
        _wait_until_healthy(process, gateway, STARTUP_TIMEOUT)
        yield Stack(
            gateway=gateway,
            stand_ins=f"http://127.0.0.1:{stand_ins_port}",
            s3_endpoint=s3_endpoint,
            env=env,
            log=log,
        )
    except BaseException:
        sys.stderr.write(
            f"--- {log} (last 100 lines)\n" + "\n".join(log.read_text().splitlines()[-100:]) + "\n"
        )
        raise
    finally:
        # Ctrl-C: the runner must stop every process it started, clean up after itself and exit 0.
        # It is stopped whatever happened; what it did is asserted afterwards.
        children = _descendants(process.pid)
        process.send_signal(signal.SIGINT)
        try:
            returncode: int | None = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            returncode = None
            for pid in [process.pid, *children]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.wait()
    assert returncode is not None, "the stack did not stop within 30 s of Ctrl-C"
    assert returncode == 0, f"the stack exited with {returncode} on Ctrl-C"
    # api + worker each, the stand-ins, the gateway
    assert len(children) >= 2 * len(present_services()) + 2, children
    ports = [gateway_port, stand_ins_port] + [int(env[f"{s.env_prefix}PORT"]) for s in present_services()]
    still_listening = [port for port in ports if _listening(port)]
    assert not still_listening, f"ports still answering after Ctrl-C: {still_listening}"

    # Direct children are gone when the runner exits; a grandchild (multiprocessing's resource tracker,
    # an nginx worker) may take a moment after its parent. None may stay.
    def no_survivors() -> bool:
        survivors = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert not survivors, f"processes still running after Ctrl-C: {_commands(survivors)}"
        return True

    eventually_blocking(no_survivors, timeout=10)
    left_behind = list(run_tmp.iterdir())
    shutil.rmtree(run_tmp)
    assert not left_behind, f"temp folders left behind: {left_behind}"
    assert not (state_dir / "stack.pid").exists(), "the pid file is left behind"


@pytest.fixture
def bare_stack_env(
    stack_database: str, amqp_url: str, s3_endpoint: str, s3_credentials, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """The environment of a stack of the gateway and the stand-ins only (QUINTET_SERVICES=none): how
    the runner starts, reports and stops does not depend on the services, and this starts in seconds.
    Its state (pid file, log) is in tmp_path/"state"; its temp folders must all be gone afterwards."""
    run_tmp = Path(tempfile.mkdtemp(prefix="quintet-e2e-"))
    run_tmp.chmod(0o755)
    env = {
        **os.environ,
        "QUINTET_SERVICES": "none",
        "QUINTET_PG_DSN": stack_database,
        "QUINTET_AMQP_URL": amqp_url,
        "QUINTET_S3_ENDPOINT": s3_endpoint,
        "QUINTET_S3_ACCESS_KEY": s3_credentials["access_key"],
        "QUINTET_S3_SECRET_KEY": s3_credentials["secret_key"],
        "QUINTET_GATEWAY_PORT": str(free_port()),
        "QUINTET_STAND_INS_PORT": str(free_port()),
        "QUINTET_CONSOLE_PORT": str(free_port()),
        "QUINTET_STATE_DIR": str(tmp_path / "state"),
        "TMPDIR": str(run_tmp),
    }
    yield env
    left_behind = list(run_tmp.glob("quintet-gateway-*"))  # (`make` also runs uv, which leaves a lock)
    shutil.rmtree(run_tmp)
    assert not left_behind, f"the gateway's run dir is left behind: {left_behind}"


# Five services on a busy 2-core machine take from 15 s to several minutes to start (a dozen Python
# processes importing their libraries). The session's stack starts inside the first test, so e2e tests
# get a timeout that covers it (pytest_collection_modifyitems below).
STARTUP_TIMEOUT = 600
E2E_TEST_TIMEOUT = STARTUP_TIMEOUT + 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(E2E_TEST_TIMEOUT))
    # A test that loads a whole world into the shared stack (`make demo`: rollouts that enrol every new
    # user, places, generations) runs after every journey, so no journey sees its data.
    items.sort(key=lambda item: item.get_closest_marker("loads_the_shared_stack") is not None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "loads_the_shared_stack: loads data every journey would see; runs after them all"
    )


def _wait_until_healthy(process: subprocess.Popen[bytes], gateway: str, timeout: float) -> None:
    def healthy() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the stack exited with {process.returncode}")  # not retried: fails at once
        try:
            return all(
                urllib.request.urlopen(f"{gateway}/{s.name}/health", timeout=2).status == 200
                for s in present_services()
            )
        except OSError:
            return False

    eventually_blocking(healthy, timeout=timeout, interval=0.5)


def _commands(pids: list[int]) -> list[str]:
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            found.append(
                f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
            )
    return found


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (apis, workers and their rendering processes, the gateway and its
    workers, the local S3), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    below = list(children.get(pid, []))
    while below:
        child = below.pop()
        found.append(child)
        below.extend(children.get(child, []))
    return found


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
