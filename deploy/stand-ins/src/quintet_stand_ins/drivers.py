"""Stand-ins of the driver-side upstreams: driver-profiles, personal, trackstory, geobase, fleet-rent and
client-events, all fed from one world of people (`fixtures/drivers.json`, or the file named by
`QUINTET_STAND_INS_DRIVERS_FIXTURE`) that tests extend at run time.

Upstream APIs (each under its own prefix on the stand-ins app):
- `POST /driver-profiles/v1/profiles/retrieve` `{"profiles": [{"park_id", "driver_id"}]}` (≤ 1000) →
  `{"profiles": [{"park_id", "driver_id", "unique_driver_id", "linked_profiles": [...], "first_name",
  "last_name", "phone_pd_id", "hired_at"}]}`: the known ones only.
- `POST /personal/v1/phones/retrieve` `{"ids": [phone_pd_id]}` → `{"phones": [{"id", "phone"}]}`.
- `POST /trackstory/v1/positions/last` `{"park_id", "driver_id"}` → `{"lat", "lon"}` or 404.
- `GET /geobase/v1/city?lat=&lon=` → `{"city"}` of the nearest known point within 1°, or 404.
- `POST /fleet-rent/v1/rentals/active` `{"park_id", "driver_id"}` → `{"rented": bool}`.
- `POST /client-events/v1/push/bulk` `{"events": [{"park_id", "driver_id", "event", "payload"}]}` →
  `{"accepted": n}`; kept in memory.
Admin (tests): `POST /_stand-in/drivers` (one person; 201), `POST /_stand-in/faults` (the next `count`
calls of an upstream answer `status` and/or are delayed `delay_ms`; 201), `DELETE /_stand-in/faults`,
`GET /_stand-in/client-events?driver_id=` (what client-events received, newest last).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

UPSTREAMS = ("driver-profiles", "personal", "trackstory", "geobase", "fleet-rent", "client-events")
FIXTURE = Path(__file__).parent / "fixtures" / "drivers.json"
MAX_BULK = 1000
MAX_KEPT_EVENTS = 200_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Person:
    unique_driver_id: str
    profiles: list[tuple[str, str]]
    first_name: str | None
    last_name: str | None
    phone: str | None
    hired_at: str | None
    point: tuple[float, float] | None
    city: str | None
    rented: bool

    @property
    def phone_pd_id(self) -> str | None:
        if self.phone is None:
            return None
        return "pd-" + hashlib.sha256(self.phone.encode()).hexdigest()[:20]


@dataclass
class Fault:
    status: int | None
    delay_ms: int
    remaining: int


@dataclass
class DriversWorld:
    people: dict[str, Person] = field(default_factory=dict)
    by_profile: dict[tuple[str, str], str] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    client_events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, person: Person) -> None:
        old = self.people.get(person.unique_driver_id)
        if old is not None:
            for key in old.profiles:
                self.by_profile.pop(key, None)
        self.people[person.unique_driver_id] = person
        for key in person.profiles:
            self.by_profile[key] = person.unique_driver_id
        if person.phone is not None and person.phone_pd_id is not None:
            self.phones[person.phone_pd_id] = person.phone

    def person(self, park_id: Any, driver_id: Any) -> Person | None:
        unique = self.by_profile.get((str(park_id), str(driver_id)))
        return None if unique is None else self.people[unique]

    def city_near(self, lat: float, lon: float) -> str | None:
        best: tuple[float, str] | None = None
        for person in self.people.values():
            if person.point is None or person.city is None:
                continue
            distance = math.hypot(person.point[0] - lat, person.point[1] - lon)
            if distance <= 1.0 and (best is None or distance < best[0]):
                best = (distance, person.city)
        return None if best is None else best[1]


WORLD = web.AppKey("drivers_world", DriversWorld)


def person_from_json(item: dict[str, Any]) -> Person:
    """A person from the admin body / fixture shape; ValueError/KeyError/TypeError if malformed."""
    profiles = [(str(p["park_id"]), str(p["driver_id"])) for p in item["profiles"]]
    if not profiles:
        raise ValueError("profiles must not be empty")
    point = item.get("point")
    hired_at = item.get("hired_at")
    if hired_at is not None:
        datetime.fromisoformat(str(hired_at))
    return Person(
        unique_driver_id=str(item["unique_driver_id"]),
        profiles=profiles,
        first_name=item.get("first_name"),
        last_name=item.get("last_name"),
        phone=item.get("phone"),
        hired_at=None if hired_at is None else str(hired_at),
        point=None if point is None else (float(point["lat"]), float(point["lon"])),
        city=item.get("city"),
        rented=bool(item.get("rented", False)),
    )


def load_world() -> DriversWorld:
    world = DriversWorld()
    path = Path(os.environ.get("QUINTET_STAND_INS_DRIVERS_FIXTURE", str(FIXTURE)))
    if path.exists():
        for item in json.loads(path.read_text())["drivers"]:
            world.add(person_from_json(item))
    return world


def _bad(message: str) -> web.Response:
    return web.json_response({"code": "bad_request", "message": message}, status=400)


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _faulty(upstream: str, handler: Handler) -> Handler:
    """Apply the upstream's pending fault (delay, then status) before answering."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        faults = request.app[WORLD].faults.get(upstream, [])
        while faults and faults[0].remaining <= 0:
            faults.pop(0)
        if faults:
            fault = faults[0]
            fault.remaining -= 1
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            if fault.status is not None:
                return web.json_response(
                    {"code": "injected_fault", "message": f"{upstream} stand-in fault"}, status=fault.status
                )
        return await handler(request)

    return wrapped


def _profile_json(person: Person, key: tuple[str, str]) -> dict[str, Any]:
    return {
        "park_id": key[0],
        "driver_id": key[1],
        "unique_driver_id": person.unique_driver_id,
        "linked_profiles": [{"park_id": p, "driver_id": d} for p, d in person.profiles],
        "first_name": person.first_name,
        "last_name": person.last_name,
        "phone_pd_id": person.phone_pd_id,
        "hired_at": person.hired_at,
    }


async def retrieve_profiles(request: web.Request) -> web.Response:
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("profiles"), list):
        return _bad('expected {"profiles": [{"park_id", "driver_id"}]}')
    if len(body["profiles"]) > MAX_BULK:
        return _bad(f"at most {MAX_BULK} profiles per call")
    world = request.app[WORLD]
    found = []
    for item in body["profiles"]:
        if not isinstance(item, dict):
            return _bad("each profile is an object")
        key = (str(item.get("park_id")), str(item.get("driver_id")))
        person = world.person(*key)
        if person is not None:
            found.append(_profile_json(person, key))
    return web.json_response({"profiles": found})


async def retrieve_phones(request: web.Request) -> web.Response:
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("ids"), list) or len(body["ids"]) > MAX_BULK:
        return _bad(f'expected {{"ids": [...]}} with at most {MAX_BULK} ids')
    phones = request.app[WORLD].phones
    return web.json_response(
        {"phones": [{"id": i, "phone": phones[i]} for i in body["ids"] if isinstance(i, str) and i in phones]}
    )


async def _one_driver(request: web.Request) -> Person | web.Response | None:
    body = await _json(request)
    if not isinstance(body, dict) or "park_id" not in body or "driver_id" not in body:
        return _bad('expected {"park_id", "driver_id"}')
    return request.app[WORLD].person(body["park_id"], body["driver_id"])


async def last_position(request: web.Request) -> web.Response:
    person = await _one_driver(request)
    if isinstance(person, web.Response):
        return person
    if person is None or person.point is None:
        return web.json_response({"code": "not_found", "message": "no position"}, status=404)
    return web.json_response({"lat": person.point[0], "lon": person.point[1]})


async def city(request: web.Request) -> web.Response:
    try:
        lat, lon = float(request.query["lat"]), float(request.query["lon"])
    except (KeyError, ValueError):
        return _bad("lat and lon are required numbers")
    found = request.app[WORLD].city_near(lat, lon)
    if found is None:
        return web.json_response({"code": "not_found", "message": "no city there"}, status=404)
    return web.json_response({"city": found})


async def rental(request: web.Request) -> web.Response:
    person = await _one_driver(request)
    if isinstance(person, web.Response):
        return person
    return web.json_response({"rented": bool(person and person.rented)})


async def push_bulk(request: web.Request) -> web.Response:
    body = await _json(request)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or len(events) > MAX_BULK:
        return _bad(f'expected {{"events": [...]}} with at most {MAX_BULK} events')
    kept = request.app[WORLD].client_events
    for event in events:
        if not isinstance(event, dict) or not {"park_id", "driver_id", "event"} <= set(event):
            return _bad("each event has park_id, driver_id, event and payload")
    for event in events:
        kept.append(
            {
                "park_id": event["park_id"],
                "driver_id": event["driver_id"],
                "event": event["event"],
                "payload": event.get("payload"),
            }
        )
    del kept[:-MAX_KEPT_EVENTS]
    return web.json_response({"accepted": len(events)})


async def add_driver(request: web.Request) -> web.Response:
    body = await _json(request)
    try:
        person = person_from_json(body)
    except (KeyError, TypeError, ValueError) as exc:
        return _bad(f"invalid driver: {exc!r}")
    request.app[WORLD].add(person)
    return web.json_response({"unique_driver_id": person.unique_driver_id}, status=201)


async def add_fault(request: web.Request) -> web.Response:
    body = await _json(request)
    if not isinstance(body, dict) or body.get("upstream") not in UPSTREAMS:
        return _bad(f"upstream must be one of {', '.join(UPSTREAMS)}")
    try:
        status = None if body.get("status") is None else int(body["status"])
        delay_ms = int(body.get("delay_ms") or 0)
        count = int(body["count"])
    except (KeyError, TypeError, ValueError):
        return _bad("count is required; status and delay_ms are integers")
    if status is None and not delay_ms:
        return _bad("give a status, a delay_ms, or both")
    request.app[WORLD].faults.setdefault(body["upstream"], []).append(Fault(status, delay_ms, count))
    return web.json_response({"upstream": body["upstream"], "count": count}, status=201)


async def clear_faults(request: web.Request) -> web.Response:
    request.app[WORLD].faults.clear()
    return web.Response(status=204)


async def received_events(request: web.Request) -> web.Response:
    driver_id = request.query.get("driver_id")
    kept = request.app[WORLD].client_events
    return web.json_response(
        {"events": [e for e in kept if driver_id is None or e["driver_id"] == driver_id]}
    )


def register(app: web.Application) -> None:
    app[WORLD] = load_world()
    upstream_routes: list[tuple[str, str, str, Handler]] = [
        ("POST", "/driver-profiles/v1/profiles/retrieve", "driver-profiles", retrieve_profiles),
        ("POST", "/personal/v1/phones/retrieve", "personal", retrieve_phones),
        ("POST", "/trackstory/v1/positions/last", "trackstory", last_position),
        ("GET", "/geobase/v1/city", "geobase", city),
        ("POST", "/fleet-rent/v1/rentals/active", "fleet-rent", rental),
        ("POST", "/client-events/v1/push/bulk", "client-events", push_bulk),
    ]
    for method, path, upstream, handler in upstream_routes:
        app.router.add_route(method, path, _faulty(upstream, handler))
    app.router.add_post("/_stand-in/drivers", add_driver)
    app.router.add_post("/_stand-in/faults", add_fault)
    app.router.add_delete("/_stand-in/faults", clear_faults)
    app.router.add_get("/_stand-in/client-events", received_events)
