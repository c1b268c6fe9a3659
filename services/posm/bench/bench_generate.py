"""BENCH posm-generate: one generation of 1,000 tables on a one-page A6 template, `created` to `done`
(scheduler, worker, rendering processes, uploads to S3), against a straightforward render in the same
run: the QR as a PNG image (qrcode + Pillow) placed with `insert_image`, the label with the whole
font, one PDF at a time in one process (rendering only, no uploads: the baseline's best case).

    uv run python services/posm/bench/bench_generate.py      (BENCH_TABLES=1000)
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import time
import uuid

import pymupdf
import qrcode
import structlog
from pymupdf_fonts import fontdescriptors

from posm import SERVICE
from posm.settings import Settings
from posm.usecases import generations, places, templates
from posm.worker import build_worker
from quintet_db import create_pool
from quintet_s3 import ObjectStore
from quintet_service import worker_resources
from quintet_testing import eventually
from quintet_testing.infra import DatabaseFactory, start_moto_server

PG_DSN = os.environ.get("QUINTET_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("QUINTET_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
TABLES = int(os.environ.get("BENCH_TABLES", "1000"))
BASELINE_SAMPLE = int(os.environ.get("BENCH_BASELINE_SAMPLE", "200"))
URL = "https://check.example/t/{table_id}"
A6 = (297.64, 419.53)
SETTINGS = {
    "page": 1,
    "qr": {"x": 70, "y": 100, "size": 160},
    "text": {"x": 148.8, "y": 330, "font_size": 22, "align": "center", "format": "Стол {label}"},
}


def a6_template() -> bytes:
    with pymupdf.open() as document:
        page = document.new_page(width=A6[0], height=A6[1])
        page.insert_text((20, 40), "Scan to see the menu and pay", fontsize=14)
        page.draw_rect(pymupdf.Rect(10, 10, A6[0] - 10, A6[1] - 10), color=(0.2, 0.2, 0.6), width=2)
        return bytes(document.tobytes())


def baseline_rate(template: bytes, sample: int) -> float:
    """PDF/s of the straightforward render."""
    font = fontdescriptors["notos"]["loader"]()
    qr, text = SETTINGS["qr"], SETTINGS["text"]
    started = time.perf_counter()
    for number in range(sample):
        image = qrcode.make(URL.format(table_id=uuid.uuid4()), border=0)
        png = io.BytesIO()
        image.save(png, format="PNG")
        with pymupdf.open(stream=template, filetype="pdf") as document:
            page = document[0]
            rect = pymupdf.Rect(qr["x"], qr["y"], qr["x"] + qr["size"], qr["y"] + qr["size"])
            page.insert_image(rect, stream=png.getvalue())
            page.insert_font(fontname="label", fontbuffer=font)
            page.insert_text((text["x"] - 40, text["y"]), f"Стол {number}", fontname="label", fontsize=22)
            document.tobytes(garbage=1, deflate=True)
    return sample / (time.perf_counter() - started)


async def generate(settings: Settings, template: bytes) -> tuple[float, int]:
    """Seconds from the POST's `created` to `done`, and the number of objects written."""
    pool = await create_pool(settings.pg_dsn, SERVICE.schema, min_size=1, max_size=4)
    try:
        async with worker_resources(settings, SERVICE.schema, buckets=[settings.bucket]) as (worker_pool, s3):
            store = ObjectStore(s3)
            place_id = uuid.uuid4()
            tables = [(uuid.uuid4(), str(n)) for n in range(1, TABLES + 1)]
            await places.put_place(pool, place_id, "Bench", None, tables)
            fields = templates.TemplateFields(
                "A6", None, templates.TemplateSettings.model_validate(SETTINGS), "global", [], []
            )
            template_row = await templates.create_template(pool, store, settings.bucket, template, fields)
            worker = build_worker(settings, worker_pool, s3)
            running = asyncio.ensure_future(worker.run())
            # The clock starts once the worker consumes, its rendering processes started (a worker
            # runs for days).
            await asyncio.wait_for(worker.started.wait(), 120)
            order = generations.GenerationOrder(template_row["template_id"], None, None)
            started = time.perf_counter()
            row, _ = await generations.request_generation(pool, place_id, "bench", order, "bench")

            async def done() -> bool:
                status = await pool.fetchval(
                    "SELECT status FROM generations WHERE generation_id = $1", row["generation_id"]
                )
                return bool(status == "done")

            await eventually(done, timeout=600, interval=0.02)
            elapsed = time.perf_counter() - started
            written = len(await store.list(settings.bucket, f"posm/{place_id}/"))
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            return elapsed, written
    finally:
        await pool.close()


async def main() -> None:
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    template = a6_template()
    moto, endpoint = start_moto_server()
    databases = DatabaseFactory(PG_DSN)
    try:
        dsn = await databases.migrated(SERVICE.schema, SERVICE.migration_sources)
        settings = Settings(
            pg_dsn=dsn,
            amqp_url=AMQP_URL,
            s3_endpoint=endpoint,
            s3_access_key="test",
            s3_secret_key="test",
            bucket="posm-bench",
            scheduler_period_seconds=0.1,
        )
        elapsed, written = await generate(settings, template)
        assert written == TABLES, written
        rate = TABLES / elapsed
        baseline = await asyncio.to_thread(baseline_rate, template, BASELINE_SAMPLE)
        processes = settings.render_processes or os.cpu_count()
        print(
            f"# {TABLES} tables, {os.cpu_count()} CPUs, {processes} rendering processes, S3 = moto;"
            f" created -> done in {elapsed:.2f} s (scheduler period 0.1 s);"
            f" baseline: PNG QR + insert_image, one process, rendering only, {BASELINE_SAMPLE} PDFs"
        )
        print(f"BENCH posm-generate {rate:.1f} PDF/s baseline={baseline:.1f} ratio={rate / baseline:.2f}")
    finally:
        await databases.drop_all()
        moto.terminate()
        moto.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
