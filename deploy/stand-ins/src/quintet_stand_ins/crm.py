"""Stand-in of the CRM's side of the mentorship tables (datasets in S3).

Every `QUINTET_STAND_INS_CRM_INTERVAL_SECONDS` (default 5; 0 stops it) it reads the requests in
`new_drivers` and, for each newbie not yet in `distribution`, picks the least-loaded mentor of the
same city from its fixture (`fixtures/crm.json`, or `QUINTET_STAND_INS_CRM_FIXTURE`) and appends
one `distribution` part with `connected_dttm` = now. Newbies of a city without mentors wait.

The loop runs only where a stack configures S3 (`QUINTET_S3_ENDPOINT` set: the local runner and
compose do); tests run a round on demand with `POST /_stand-in/crm/match` (→ what it did).
S3 settings come from the platform env (`QUINTET_S3_ENDPOINT`, `_ACCESS_KEY`, `_SECRET_KEY`,
`_REGION`), dataset addresses from the service's env names with the service's defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from aiohttp import web

from quintet_s3 import (
    DatasetNotFound,
    DatasetPolicy,
    ObjectStore,
    open_dataset,
    parse_dataset_address,
    s3_client,
    write_dataset_part,
)

log = logging.getLogger("quintet_stand_ins.crm")

FIXTURE = Path(__file__).parent / "fixtures" / "crm.json"
DISTRIBUTION_SCHEMA = pa.schema(
    [
        ("newbie_park_id", pa.string()),
        ("newbie_driver_id", pa.string()),
        ("mentor_park_id", pa.string()),
        ("mentor_driver_id", pa.string()),
        ("connected_dttm", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class CrmConfig:
    endpoint: str
    access_key: str
    secret_key: str
    region: str
    new_drivers_url: str
    distribution_url: str
    interval: float
    mentors: list[dict[str, str]]

    @classmethod
    def from_env(cls) -> CrmConfig:
        env = os.environ
        crm = "s3://crm/mentorship"
        path = Path(env.get("QUINTET_STAND_INS_CRM_FIXTURE", str(FIXTURE)))
        mentors = json.loads(path.read_text())["mentors"] if path.exists() else []
        return cls(
            endpoint=env.get("QUINTET_S3_ENDPOINT", "http://127.0.0.1:9000"),
            access_key=env.get("QUINTET_S3_ACCESS_KEY", "quintet"),
            secret_key=env.get("QUINTET_S3_SECRET_KEY", "quintet-secret"),
            region=env.get("QUINTET_S3_REGION", "us-east-1"),
            new_drivers_url=env.get("CONTRACTOR_MENTORSHIP_NEW_DRIVERS_URL", f"{crm}/new_drivers/"),
            distribution_url=env.get("CONTRACTOR_MENTORSHIP_DISTRIBUTION_URL", f"{crm}/distribution/"),
            interval=float(env.get("QUINTET_STAND_INS_CRM_INTERVAL_SECONDS", "5")),
            mentors=mentors,
        )


CONFIG = web.AppKey("crm_config", CrmConfig)


async def _rows(store: ObjectStore, url: str) -> list[dict[str, Any]]:
    """Every row of a (small, Parquet) dataset; none when it does not exist yet."""
    address = parse_dataset_address(url)
    policy = DatasetPolicy((f"{address.bucket}/{address.key}",), max_parts=1_000_000)
    try:
        dataset = await open_dataset(store, address, policy)
    except DatasetNotFound:
        return []
    rows: list[dict[str, Any]] = []
    async for batch in dataset.iter_batches(batch_rows=50_000):
        if batch.table is not None:
            rows.extend(batch.table.to_pylist())
        rows.extend(r.values for r in batch.records or () if isinstance(r.values, dict))
    return rows


async def match_round(config: CrmConfig) -> dict[str, int]:
    """One round: every waiting newbie with a mentor of their city gets one; the counts."""
    async with s3_client(config.endpoint, config.access_key, config.secret_key, config.region) as s3:
        store = ObjectStore(s3)
        requests = await _rows(store, config.new_drivers_url)
        distributed = await _rows(store, config.distribution_url)
        done = {(r["newbie_park_id"], r["newbie_driver_id"]) for r in distributed}
        load = Counter((r["mentor_park_id"], r["mentor_driver_id"]) for r in distributed)
        now = datetime.now(UTC)
        rows = []
        waiting = 0
        for request in requests:
            newbie = (request["park_id"], request["driver_id"])
            if newbie in done:
                continue
            candidates = [m for m in config.mentors if m.get("city") == request.get("city")]
            if not candidates:
                waiting += 1
                continue
            mentor = min(candidates, key=lambda m: load[(m["park_id"], m["driver_id"])])
            load[(mentor["park_id"], mentor["driver_id"])] += 1
            done.add(newbie)
            rows.append(
                {
                    "newbie_park_id": newbie[0],
                    "newbie_driver_id": newbie[1],
                    "mentor_park_id": mentor["park_id"],
                    "mentor_driver_id": mentor["driver_id"],
                    "connected_dttm": now,
                }
            )
        if rows:
            table = pa.Table.from_pylist(rows, schema=DISTRIBUTION_SCHEMA)
            await write_dataset_part(store, config.distribution_url, table)
    return {"requests": len(requests), "matched": len(rows), "waiting_for_a_mentor": waiting}


async def _match_now(request: web.Request) -> web.Response:
    try:
        counts = await match_round(request.app[CONFIG])
    except Exception as exc:  # a stand-in: say what broke to the test that asked
        return web.json_response({"code": "crm_round_failed", "message": repr(exc)[:500]}, status=502)
    return web.json_response(counts)


async def _matching_loop(config: CrmConfig) -> None:
    while True:
        try:
            counts = await match_round(config)
            if counts["matched"]:
                log.info("crm stand-in matched newbies: %s", counts)
        except Exception as exc:
            log.warning("crm stand-in round failed: %r", exc)
        await asyncio.sleep(config.interval)


def register(app: web.Application) -> None:
    config = CrmConfig.from_env()
    app[CONFIG] = config
    app.router.add_post("/_stand-in/crm/match", _match_now)
    if config.interval <= 0 or "QUINTET_S3_ENDPOINT" not in os.environ:
        return

    async def loop_ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(_matching_loop(config))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(loop_ctx)
