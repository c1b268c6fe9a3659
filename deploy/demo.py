"""`make demo`: load a small, realistic world into the running local stack through its public APIs.

- segments: 200 users, `demo_new_checkout` rolled out to 30 %, `demo_beta` given to user 1.
- personal-goals: examples/datasets/goals.parquet put into the local S3, validated, applied, and its
  selections activated.
- posm: a place with 3 tables, a one-page template (PyMuPDF), a generation of every table.
- vrs-import: a task submitted to the stand-in solver, solved, imported into company 1.
- contractor-mentorship: a newbie (in the driver stand-in) accepts, the CRM stand-in matches, the
  import runs: the pair is `initialized`.

Idempotent: a second run finds what the first loaded and loads nothing twice. Needs the stack
(`make start`); the gateway comes from .run/gateway-url (or QUINTET_GATEWAY_URL), the stand-ins from
QUINTET_STAND_INS_URL (default http://127.0.0.1:8090), S3 and the token secret from the platform env.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack_services import ROOT

sys.path.insert(0, str(ROOT / "examples" / "posm"))
from make_template import table_tent_pdf

from quintet_runtime.settings import DEV_JWT_SECRET
from quintet_web.auth import mint_token

DEMO = uuid.UUID("5eed0000-0000-4000-8000-000000000000")
PLACE_ID = uuid.uuid5(DEMO, "place")
TABLES = [{"id": str(uuid.uuid5(DEMO, f"table-{n}")), "label": str(n)} for n in (1, 2, 3)]
GOALS_TABLE = "s3://goals-datasets/demo/goals.parquet"
TEMPLATE_NAME = "Demo table tent"
VRS_COMPANY = 1
VRS_DAY = "2026-12-10"
NEWBIE = {"park_id": "park-msk-1", "driver_id": "demo-newbie-1"}
TIMEOUT = aiohttp.ClientTimeout(total=120)


class DemoError(Exception):
    pass


def token(scope: str, **claims: Any) -> str:
    secret = os.environ.get("QUINTET_JWT_SECRET", DEV_JWT_SECRET)
    return mint_token(secret, sub=claims.pop("sub", "demo"), scope=scope, **claims)


def gateway_url() -> str:
    if url := os.environ.get("QUINTET_GATEWAY_URL"):
        return url.rstrip("/")
    state = Path(os.environ.get("QUINTET_STATE_DIR", ROOT / ".run")) / "gateway-url"
    try:
        return state.read_text().strip().rstrip("/")
    except OSError:
        raise DemoError("no running stack (.run/gateway-url is missing): `make start` first") from None


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    bearer: str | None = None,
    ok: tuple[int, ...] = (200, 201, 204),
    **kwargs: Any,
) -> tuple[int, Any]:
    headers = dict(kwargs.pop("headers", {}))
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    async with http.request(method, url, headers=headers, **kwargs) as response:
        text = await response.text()
        if response.status not in ok:
            raise DemoError(f"{method} {url} answered {response.status}: {text[:300]}")
        try:
            return response.status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return response.status, text


async def wait_for(what: str, check: Callable[[], Awaitable[Any]], seconds: float = 90.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise DemoError(f"timed out waiting for {what}")
        await asyncio.sleep(1)


async def segments(http: aiohttp.ClientSession, base: str) -> str:
    bearer = token("segments:read segments:write")
    api = f"{base}/segments/api/v1"
    await call(http, "POST", f"{api}/users", bearer=bearer, json={"user_ids": list(range(1, 201))})
    for slug, percent in (("demo_new_checkout", 30), ("demo_beta", None)):
        status, _ = await call(
            http,
            "POST",
            f"{api}/segment",
            bearer=bearer,
            json={"slug": slug, "percent": percent},
            ok=(201, 409),
        )
        if status == 409 and percent is not None:
            await call(http, "PATCH", f"{api}/segment/{slug}", bearer=bearer, json={"percent": percent})
    await call(http, "POST", f"{api}/segments/user/1", bearer=bearer, json={"segments_to_add": ["demo_beta"]})
    _, mine = await call(http, "GET", f"{api}/segments/user/1", bearer=bearer)
    return f"segments: demo_new_checkout at 30 % of users 1..200, demo_beta for user 1 (user 1 has {mine})"


async def goals(http: aiohttp.ClientSession, base: str) -> str:
    from quintet_runtime.settings import PlatformSettings
    from quintet_s3 import ObjectStore
    from quintet_s3.store import s3_client

    settings = PlatformSettings()
    data = (ROOT / "examples" / "datasets" / "goals.parquet").read_bytes()
    async with s3_client(
        settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_region
    ) as client:
        store = ObjectStore(client)
        await store.ensure_bucket("goals-datasets")
        await store.put("goals-datasets", "demo/goals.parquet", data)
    bearer = token("goals:admin")
    admin = f"{base}/personal-goals/internal/admin"
    body = {"table": GOALS_TABLE}
    await call(
        http, "POST", f"{admin}/validate_goals_upload_from_yt", bearer=bearer, json=body, ok=(200, 409)
    )

    async def applied() -> Any:
        _, answer = await call(http, "POST", f"{admin}/upload_goals_from_yt", bearer=bearer, json=body)
        if answer["status"] in ("failed", "cancelled"):
            raise DemoError(f"the goals upload is {answer['status']}: {answer.get('failure_reason')}")
        return answer if answer["status"] in ("complete", "partially_completed") else None

    upload = await wait_for("the goals upload", applied)
    for selection in upload["selections"]:
        await call(
            http,
            "POST",
            f"{admin}/selections/update",
            bearer=bearer,
            json={"selection_id": selection["selection_id"], "status": "active"},
        )
    names = ", ".join(s["selection_id"] for s in upload["selections"])
    return f"personal-goals: {GOALS_TABLE} applied ({upload['status']}), selections {names} active"


async def posm(http: aiohttp.ClientSession, base: str) -> str:
    bearer = token("posm:read posm:write")
    api = f"{base}/posm/api/v1"
    await call(
        http, "PUT", f"{api}/places/{PLACE_ID}", bearer=bearer, json={"name": "Кафе «Демо»", "tables": TABLES}
    )
    _, templates = await call(http, "GET", f"{api}/templates", bearer=bearer)
    template = next((t for t in templates if t["name"] == TEMPLATE_NAME), None)
    if template is None:
        metadata = {
            "name": TEMPLATE_NAME,
            "description": "A5 table tent",
            "visibility": "global",
            "settings": {
                "page": 1,
                "qr": {"x": 110, "y": 160, "size": 200},
                "text": {"x": 210, "y": 420, "font_size": 28, "align": "center", "format": "Table {label}"},
            },
        }
        form = aiohttp.FormData()
        form.add_field("file", table_tent_pdf(), filename="table-tent.pdf", content_type="application/pdf")
        form.add_field("metadata", json.dumps(metadata), content_type="application/json")
        _, template = await call(http, "POST", f"{api}/templates", bearer=bearer, data=form)
    template_id = template["id"]
    _, generation = await call(
        http,
        "POST",
        f"{api}/places/{PLACE_ID}/generations",
        bearer=bearer,
        json={"template_id": template_id},
        headers={"Idempotency-Key": f"demo-generation-{template_id}"},
    )
    url = f"{api}/places/{PLACE_ID}/generations/{generation['id']}"

    async def done() -> Any:
        _, found = await call(http, "GET", url, bearer=bearer)
        if found["status"] == "error":
            raise DemoError(f"the POSM generation failed: {found.get('comment')}")
        return found if found["status"] == "done" else None

    await wait_for("the POSM generation", done)
    return (
        f"posm: place {PLACE_ID}, template {template_id}, generation {generation['id']} done: {url}/archive"
    )


async def vrs(http: aiohttp.ClientSession, base: str, stand_ins: str) -> str:
    bearer = token("vrs:read vrs:write vrs:import", companies=[VRS_COMPANY])
    api = f"{base}/vrs-import/api/v1/companies/{VRS_COMPANY}"
    _, routes = await call(http, "GET", f"{api}/routes?date={VRS_DAY}", bearer=bearer)
    existing = routes.get("items", routes) if isinstance(routes, dict) else routes
    if existing:
        return f"vrs-import: company {VRS_COMPANY} has routes on {VRS_DAY} already"
    task = {
        "depot": {"id": "depot", "point": {"lat": 55.7558, "lon": 37.6173}, "time_window": "07:00-22:00"},
        "locations": [
            {
                "id": f"demo-order-{n}",
                "point": {"lat": 55.75 + n / 200, "lon": 37.60 + n / 150},
                "time_window": "09:00-18:00",
                "service_duration_s": 300,
            }
            for n in range(1, 6)
        ],
        "vehicles": [{"id": "demo-courier-1"}, {"id": "demo-courier-2"}],
        "options": {"date": VRS_DAY, "time_zone": 3},
    }
    _, submitted = await call(http, "POST", f"{stand_ins}/vrs/api/v1/add/mvrp", json=task, ok=(202,))
    task_id = submitted["id"]

    async def solved() -> Any:
        status, answer = await call(
            http, "GET", f"{stand_ins}/vrs/api/v1/result/mvrp/{task_id}", ok=(200, 202)
        )
        return answer if status == 200 else None

    await wait_for("the solver", solved)
    body = {
        "task_id": task_id,
        "order_status": "confirmed",
        "route_conflict_mode": "rename_new",
        "order_conflict_mode": "rename_new",
    }
    _, started = await call(
        http,
        "POST",
        f"{api}/vrs-import",
        bearer=bearer,
        ok=(200, 202),  # 202: started; 200: the same Idempotency-Key answered again
        json=body,
        headers={"Idempotency-Key": f"demo-{task_id}"},
    )

    async def imported() -> Any:
        _, answer = await call(http, "GET", f"{api}/vrs-import/{started['id']}", bearer=bearer)
        if answer["status"] in ("error", "internal_error"):
            raise DemoError(f"the vrs import failed: {answer.get('message')}")
        return answer if answer["status"] == "completed" else None

    await wait_for("the vrs import", imported)
    return f"vrs-import: task {task_id} imported into company {VRS_COMPANY} ({api}/routes?date={VRS_DAY})"


async def mentorship(http: aiohttp.ClientSession, base: str, stand_ins: str) -> str:
    driver = token("mentorship:driver", park_id=NEWBIE["park_id"], driver_id=NEWBIE["driver_id"])
    admin = token("mentorship:admin")
    api = f"{base}/contractor-mentorship"
    person = {
        "unique_driver_id": "udid-demo-newbie-1",
        "profiles": [NEWBIE],
        "first_name": "Дмитрий",
        "last_name": "Демо",
        "phone": "+79005550099",
        "hired_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 2 * 86400)),
        "point": {"lat": 55.75, "lon": 37.62},
        "city": "Москва",
        "rented": False,
    }
    await call(http, "POST", f"{stand_ins}/_stand-in/drivers", json=person, ok=(200, 201, 409))
    _, matching = await call(http, "POST", f"{api}/driver/v1/mentorship/accept", bearer=driver, ok=(200, 201))
    url = f"{api}/internal/admin/matchings/{matching['id']}"

    async def status() -> str:
        _, found = await call(http, "GET", url, bearer=admin)
        return str(found["status"])

    await wait_for("the CRM request", lambda: _past(status, "created"))
    if await status() in ("requested", "matched"):
        await call(http, "POST", f"{stand_ins}/_stand-in/crm/match", ok=(200,))
        await call(
            http, "POST", f"{api}/internal/admin/jobs/import-matchings/run", bearer=admin, ok=(200, 409)
        )
        await wait_for("the matching", lambda: _past(status, "requested", "matched"))
    return (
        f"contractor-mentorship: newbie {NEWBIE['driver_id']} matching {matching['id']} is {await status()}"
    )


async def _past(status: Callable[[], Awaitable[str]], *before: str) -> bool:
    return await status() not in before


async def main() -> int:
    base = gateway_url()
    stand_ins = os.environ.get("QUINTET_STAND_INS_URL", "http://127.0.0.1:8090").rstrip("/")
    lines = []
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        steps: list[tuple[str, Callable[[], Awaitable[str]]]] = [
            ("segments", lambda: segments(http, base)),
            ("personal-goals", lambda: goals(http, base)),
            ("posm", lambda: posm(http, base)),
            ("vrs-import", lambda: vrs(http, base, stand_ins)),
            ("contractor-mentorship", lambda: mentorship(http, base, stand_ins)),
        ]
        for service, step in steps:
            async with http.get(f"{base}/{service}/health") as response:
                started = response.status == 200
            line = await step() if started else f"{service}: not started in this stack, skipped"
            print(line, flush=True)
            lines.append(line)
    print(f"\nOpen {base}/ (each service's docs at {base}/<service>/docs). Tokens (24 h):")
    for scope, extra in (
        ("segments:read segments:write", ""),
        ("goals:admin goals:read-any", ""),
        ("goals:read", " SUB=demo-user-1"),
        ("posm:read posm:write", ""),
        ("vrs:read vrs:write vrs:import", f" COMPANIES={VRS_COMPANY}"),
        ("mentorship:admin", ""),
        ("mentorship:driver", f" PARK_ID={NEWBIE['park_id']} DRIVER_ID={NEWBIE['driver_id']}"),
    ):
        print(f"  make -s token SCOPE='{scope}'{extra}")
    print("Requests to try: examples/http/<service>.http")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except (DemoError, aiohttp.ClientError) as error:
        print(f"demo: {error}", file=sys.stderr)
        sys.exit(1)
