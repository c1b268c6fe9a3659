"""Black-box journeys through the gateway against the running stack.

The stack is started exactly as `make run` starts it (deploy/run_local.py), on free ports, against a
fresh database, this session's RabbitMQ vhost and the session's S3 server, and stopped afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from quintet_testing import free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
from stack_services import present_services  # noqa: E402


@dataclass(frozen=True)
class Stack:
    gateway: str
    s3_endpoint: str
    env: dict[str, str]


@pytest.fixture(scope="session")
async def stack_database(database_factory) -> str:
    return await database_factory.create()


@pytest.fixture(scope="session")
def stack(stack_database: str, amqp_url: str, s3_endpoint: str, s3_credentials) -> Iterator[Stack]:
    gateway_port = free_port()
    env = {
        **os.environ,
        "QUINTET_PG_DSN": stack_database,
        "QUINTET_AMQP_URL": amqp_url,
        "QUINTET_S3_ENDPOINT": s3_endpoint,
        "QUINTET_S3_ACCESS_KEY": s3_credentials["access_key"],
        "QUINTET_S3_SECRET_KEY": s3_credentials["secret_key"],
        "QUINTET_GATEWAY_PORT": str(gateway_port),
        "QUINTET_LOG_LEVEL": "WARNING",
    }
    for service in present_services():
        env[f"{service.env_prefix}PORT"] = str(free_port())
    env["CONSOLE_PORT"] = str(free_port())
    process = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "run_local.py"), "--local"], env=env)
    gateway = f"http://127.0.0.1:{gateway_port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"the stack exited with {process.returncode}"
            try:
                ready = all(
                    urllib.request.urlopen(f"{gateway}/{s.name}/health", timeout=2).status == 200
                    for s in present_services()
                )
                if ready:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the stack did not come up within 120 s"
            time.sleep(0.5)
        yield Stack(gateway=gateway, s3_endpoint=s3_endpoint, env=env)
    finally:
        # Ctrl-C: the runner must stop every process it started and exit cleanly.
        children = _children(process.pid)
        assert len(children) >= 2 * len(present_services()) + 1, children  # api + worker each, gateway
        process.send_signal(signal.SIGINT)
        try:
            returncode = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError("the stack did not stop within 30 s of Ctrl-C") from None
        assert returncode == 0, f"the stack exited with {returncode} on Ctrl-C"
        ports = [gateway_port] + [int(env[f"{s.env_prefix}PORT"]) for s in present_services()]
        still_listening = [port for port in ports if _listening(port)]
        assert not still_listening, f"ports still answering after Ctrl-C: {still_listening}"
        survivors = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert not survivors, f"processes still running after Ctrl-C: {survivors}"


def _children(pid: int) -> list[int]:
    """Direct children of `pid` (apis, workers, gateway, local S3), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
