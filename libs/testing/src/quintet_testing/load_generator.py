"""HTTP load generator for the benchmarks, run as its own process (`python -m
quintet_testing.load_generator`, so the api under test has its own process). Prints one JSON line:
{"requests", "errors", "seconds", "rps", "p50_ms", "p99_ms"}.

It speaks minimal HTTP/1.1 keep-alive over asyncio streams on uvloop (like wrk, it only reads the
status line, Content-Length and the body): on a 2-core machine the generator shares the CPU with
the api and PostgreSQL, so a heavy client would measure itself rather than the api.

closed mode: `concurrency` connections each sending back-to-back requests (throughput).
open mode: requests started at a fixed `rate` over a pool of connections regardless of answers
(latency at that rate; latency counts from the scheduled start, so queueing in the client counts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from urllib.parse import urlsplit

try:
    import uvloop
except ImportError:  # an optimisation of the generator, not a requirement
    uvloop = None  # type: ignore[assignment]


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        status_line = await self.reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


async def run(args: argparse.Namespace) -> dict[str, float]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    auth = f"Authorization: Bearer {args.token}\r\n" if args.token else ""
    template = f"GET {url.path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n"

    def request() -> bytes:
        return template.replace("{user_id}", str(random.randint(1, args.users))).encode()

    connections: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(args.concurrency):
        connections.put_nowait(Connection(*await asyncio.open_connection(host, port)))
    latencies: list[float] = []
    errors = 0

    async def one(scheduled: float | None = None) -> None:
        nonlocal errors
        started = scheduled if scheduled is not None else time.perf_counter()
        connection = await connections.get()
        try:
            if await connection.get(request()) != 200:
                errors += 1
        finally:
            connections.put_nowait(connection)
        latencies.append(time.perf_counter() - started)

    # Warm-up: every connection used, the server's statement caches filled.
    await asyncio.gather(*(one() for _ in range(args.concurrency * 20)))
    latencies.clear()
    errors = 0
    started = time.perf_counter()
    deadline = started + args.seconds
    if args.mode == "closed":

        async def loop() -> None:
            while time.perf_counter() < deadline:
                await one()

        await asyncio.gather(*(loop() for _ in range(args.concurrency)))
    else:
        pending: set[asyncio.Task[None]] = set()
        interval = 1 / args.rate
        sent = 0
        while True:
            due = started + sent * interval
            if due >= deadline:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.ensure_future(one(due))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.gather(*pending)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="may contain {user_id}")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--token", default="")
    parser.add_argument("--mode", choices=["closed", "open"], default="closed")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    result = uvloop.run(run(args)) if uvloop is not None else asyncio.run(run(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
