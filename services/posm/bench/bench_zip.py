"""BENCH posm-zip: the archive of a done generation of 1,000 and of 5,000 tables downloaded through the
api (in its own process): files/s, time to the first byte, and the api's peak RSS growth during the
download. Baseline in the same run, served the same way by a process of its own: fetch every object,
build the zip in memory, then answer.

    uv run python services/posm/bench/bench_zip.py        (BENCH_ZIP_TABLES=1000,5000)
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import aiohttp
import structlog
from aiohttp import web

from posm import SERVICE, rendering
from posm.domain.settings import TemplateSettings
from posm.settings import Settings
from posm.usecases import generations, places, templates
from quintet_db import create_pool
from quintet_runtime import DEV_JWT_SECRET
from quintet_s3 import ObjectStore, s3_client
from quintet_testing.infra import DatabaseFactory, free_port, start_moto_server, wait_for_http
from quintet_web import mint_token

PG_DSN = os.environ.get("QUINTET_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("QUINTET_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
COUNTS = [int(n) for n in os.environ.get("BENCH_ZIP_TABLES", "1000,5000").split(",")]
BUCKET = "posm-bench"
SETTINGS = {
    "page": 1,
    "qr": {"x": 70, "y": 100, "size": 160},
    "text": {"x": 148.8, "y": 330, "font_size": 22, "align": "center", "format": "Стол {label}"},
}
MB = 1024 * 1024


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> int:
    """The process's RSS now (kB), after resetting its peak (VmHWM) to it."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return status_kb(pid, "VmRSS")


async def prepare(settings: Settings, store: ObjectStore, count: int) -> tuple[uuid.UUID, int, str]:
    """A done generation of `count` tables whose objects are in S3 (one real POSM, copied)."""
    pool = await create_pool(settings.pg_dsn, SERVICE.schema, min_size=1, max_size=2)
    try:
        place_id = uuid.uuid4()
        await places.put_place(pool, place_id, "Bench", None, [(uuid.uuid4(), str(n)) for n in range(count)])
        template = await asyncio.to_thread(_a6_template)
        fields = templates.TemplateFields(
            "A6", None, TemplateSettings.model_validate(SETTINGS), "global", [], []
        )
        template_row = await templates.create_template(pool, store, BUCKET, template, fields)
        order = generations.GenerationOrder(template_row["template_id"], None, None)
        row, _ = await generations.request_generation(pool, place_id, uuid.uuid4().hex, order, "bench")
        generation_id = row["generation_id"]
        prefix = f"posm/{place_id}/{generation_id}/"
        keys = await pool.fetch(
            """
            UPDATE generation_tables SET object_key = $2 || table_id || '.pdf'
            WHERE generation_id = $1 RETURNING object_key
            """,
            generation_id,
            prefix,
        )
        await pool.execute("UPDATE generations SET status = 'done' WHERE generation_id = $1", generation_id)
    finally:
        await pool.close()
    font = rendering.label_font("Стол 0123456789")
    (pdf,) = rendering.render_posms(
        template, SETTINGS, [(str(uuid.uuid4()), "1")], settings.qr_url_template, font
    )
    uploads = asyncio.Semaphore(32)

    async def upload(key: str) -> None:
        async with uploads:
            await store.put(BUCKET, key, pdf, "application/pdf")

    await asyncio.gather(*(upload(r["object_key"]) for r in keys))
    return place_id, generation_id, prefix


def _a6_template() -> bytes:
    import pymupdf

    with pymupdf.open() as document:
        page = document.new_page(width=297.64, height=419.53)
        page.insert_text((20, 40), "Scan to see the menu and pay", fontsize=14)
        return bytes(document.tobytes())


async def download(pid: int, url: str, headers: dict[str, str]) -> tuple[float, float, float, int]:
    """(seconds in all, seconds to the first byte, peak RSS growth in MB, zip entries)."""
    rss_before = reset_peak(pid)
    started = time.perf_counter()
    first_byte = None
    received = io.BytesIO()
    timeout = aiohttp.ClientTimeout(total=900)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        async for chunk in response.content.iter_any():
            if first_byte is None:
                first_byte = time.perf_counter() - started
            received.write(chunk)
    elapsed = time.perf_counter() - started
    growth = (status_kb(pid, "VmHWM") - rss_before) / 1024
    with zipfile.ZipFile(received) as archive:
        entries = len(archive.infolist())
    return elapsed, first_byte or elapsed, growth, entries


def start(argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_http(f"http://127.0.0.1:{port}/health", timeout=60)
    return process


async def main() -> None:
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    moto, endpoint = start_moto_server()
    databases = DatabaseFactory(PG_DSN)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        dsn = await databases.migrated(SERVICE.schema, SERVICE.migration_sources)
        settings = Settings(
            pg_dsn=dsn,
            amqp_url=AMQP_URL,
            s3_endpoint=endpoint,
            s3_access_key="test",
            s3_secret_key="test",
            bucket=BUCKET,
        )
        api_port, baseline_port = free_port(), free_port()
        env = {
            **os.environ,
            "QUINTET_PG_DSN": dsn,
            "QUINTET_AMQP_URL": AMQP_URL,
            "QUINTET_S3_ENDPOINT": endpoint,
            "QUINTET_S3_ACCESS_KEY": "test",
            "QUINTET_S3_SECRET_KEY": "test",
            "QUINTET_LOG_LEVEL": "WARNING",
            "POSM_BUCKET": BUCKET,
            "POSM_PORT": str(api_port),
        }
        api = start([sys.executable, "-m", "posm", "api"], env, api_port)
        processes.append(api)
        baseline = start(
            [sys.executable, __file__, "--baseline-server", str(baseline_port)], env, baseline_port
        )
        processes.append(baseline)
        headers = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, sub='bench', scope='posm:read')}"}
        async with s3_client(endpoint, "test", "test") as s3:
            store = ObjectStore(s3)
            await store.ensure_bucket(BUCKET)
            for count in COUNTS:
                place_id, generation_id, prefix = await prepare(settings, store, count)
                url = f"http://127.0.0.1:{api_port}/api/v1/places/{place_id}/generations/{generation_id}/archive"
                ours = await download(api.pid, url, headers)
                theirs = await download(
                    baseline.pid, f"http://127.0.0.1:{baseline_port}/archive?prefix={prefix}", {}
                )
                assert ours[3] == theirs[3] == count, (ours[3], theirs[3])
                rate, baseline_rate = count / ours[0], count / theirs[0]
                print(
                    f"# {count} tables: streamed {ours[0]:.2f} s, first byte {ours[1]:.3f} s,"
                    f" peak RSS +{ours[2]:.1f} MB;"
                    f" in memory {theirs[0]:.2f} s, first byte {theirs[1]:.3f} s,"
                    f" peak RSS +{theirs[2]:.1f} MB"
                )
                print(
                    f"BENCH posm-zip-{count} {rate:.0f} files/s baseline={baseline_rate:.0f}"
                    f" ratio={rate / baseline_rate:.2f}"
                )
                print(
                    f"BENCH posm-zip-{count}-first-byte {ours[1]:.3f} s baseline={theirs[1]:.3f}"
                    f" ratio={theirs[1] / ours[1]:.2f}"
                )
                print(
                    f"BENCH posm-zip-{count}-rss-growth {ours[2]:.1f} MB baseline={theirs[2]:.1f}"
                    f" ratio={theirs[2] / max(ours[2], 0.1):.2f}"
                )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        await databases.drop_all()
        moto.terminate()
        moto.wait(timeout=10)


def baseline_server(port: int) -> None:
    """The in-memory way: every object fetched, the zip built in memory, then the answer."""
    settings = Settings()

    async def archive(request: web.Request) -> web.Response:
        prefix = request.query["prefix"]
        async with s3_client(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key) as s3:
            store = ObjectStore(s3)
            keys = [o.key for o in await store.list(settings.bucket, prefix)]
            limit = asyncio.Semaphore(16)

            async def fetch(key: str) -> bytes:
                async with limit:
                    return await store.get(settings.bucket, key)

            contents = await asyncio.gather(*(fetch(k) for k in keys))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zipped:
            for key, content in zip(keys, contents, strict=True):
                zipped.writestr(key.rsplit("/", 1)[1], content)
        return web.Response(body=buffer.getvalue(), content_type="application/zip")

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/archive", archive)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--baseline-server":
        baseline_server(int(sys.argv[2]))
    else:
        asyncio.run(main())
