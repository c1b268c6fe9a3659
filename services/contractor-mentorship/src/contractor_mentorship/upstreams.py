"""Clients of the upstream systems, one small class each, over one HTTP session per process.

Every call has a timeout and a bounded retry (5xx, 429, timeouts and connection errors; a 4xx other
than an expected 404 is not retried). A failure raises `UpstreamError` naming the upstream and the
problem, never the data sent or received: phones pass through here and must not reach a log line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import to_json

from contractor_mentorship.domain.errors import UpstreamError
from contractor_mentorship.settings import Settings

DriverKey = tuple[str, str]  # (park_id, driver_id)

PROFILES_PER_CALL = 500
PHONES_PER_CALL = 500
EVENTS_PER_CALL = 500
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # a bulk answer of 500 profiles is about 150 KB


class _Retryable(Exception):
    pass


class UpstreamHttp:
    """JSON over HTTP to one upstream: its base URL, timeout and retry policy."""

    def __init__(
        self,
        name: str,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout: float,
        attempts: int,
        retry_delay: float,
    ) -> None:
        self.name = name
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = attempts
        self._retry_delay = retry_delay

    async def call(
        self,
        method: str,
        path: str,
        answer: type[A],
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> A | None:
        """The answer, parsed and validated as `answer` in one pass over the body (pydantic's JSON
        parser: a bulk answer of 500 profiles is most of an import's own CPU); None for a 404 (the
        caller decides what absence means)."""
        problem = "failed"
        body = None if json is None else to_json(json)
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._retry_delay * attempt)
            try:
                return await self._once(method, path, answer, body, params)
            except _Retryable as exc:
                problem = str(exc)
            except TimeoutError:
                problem = "timed out"
            except aiohttp.ClientError as exc:
                problem = f"connection failed ({type(exc).__name__})"
        raise UpstreamError(self.name, f"{problem} after {self._attempts} attempt(s)")

    async def _once(
        self, method: str, path: str, answer: type[A], body: bytes | None, params: dict[str, str] | None
    ) -> A | None:
        url = f"{self._base_url}{path}"
        headers = {"Content-Type": "application/json"} if body is not None else None
        async with self._session.request(
            method, url, data=body, headers=headers, params=params, timeout=self._timeout
        ) as response:
            if response.status == 404:
                return None
            if response.status >= 500 or response.status == 429:
                raise _Retryable(f"answered {response.status}")
            if response.status >= 400:
                raise UpstreamError(self.name, f"answered {response.status}")
            raw = bytearray()
            async for piece in response.content.iter_chunked(64 * 1024):
                raw += piece
                if len(raw) > MAX_ANSWER_BYTES:
                    raise UpstreamError(self.name, f"answered more than {MAX_ANSWER_BYTES} bytes")
        try:
            return answer.model_validate_json(raw)
        except ValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors()):
                raise UpstreamError(self.name, "answered with a body that is not JSON") from exc
            raise UpstreamError(self.name, "answered in an unexpected shape") from exc


class _Answer(BaseModel):
    pass


A = TypeVar("A", bound=_Answer)


class DriverRefModel(_Answer):
    park_id: str = Field(min_length=1, max_length=64)
    driver_id: str = Field(min_length=1, max_length=64)


class DriverProfile(_Answer):
    park_id: str = Field(min_length=1, max_length=64)
    driver_id: str = Field(min_length=1, max_length=64)
    unique_driver_id: str = Field(min_length=1, max_length=64)
    linked_profiles: list[DriverRefModel] = Field(default_factory=list, max_length=100)
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    phone_pd_id: str | None = Field(None, max_length=200)
    hired_at: datetime | None = None

    @property
    def key(self) -> DriverKey:
        return (self.park_id, self.driver_id)

    @property
    def linked_keys(self) -> list[DriverKey]:
        """Every profile of the person, this one included."""
        keys = {(p.park_id, p.driver_id) for p in self.linked_profiles}
        keys.add(self.key)
        return sorted(keys)


class _Profiles(_Answer):
    profiles: list[DriverProfile]


class _PersonRef(_Answer):
    """A profile read only for the person behind it (the other fields are not validated)."""

    park_id: str = Field(min_length=1, max_length=64)
    driver_id: str = Field(min_length=1, max_length=64)
    unique_driver_id: str = Field(min_length=1, max_length=64)


class _People(_Answer):
    profiles: list[_PersonRef]


class _Phone(_Answer):
    id: str
    phone: str


class _Phones(_Answer):
    phones: list[_Phone]


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


R = TypeVar("R")


async def _all(calls: Iterable[Awaitable[R]]) -> list[R]:
    """Every call's result, in order. The first failure cancels the other calls and waits for them
    before it is raised as it is: nothing keeps running behind a failed bulk operation."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DriverProfiles:
    """driver-profiles: a profile → the person's unique id, all their linked profiles, name, phone id."""

    def __init__(self, http: UpstreamHttp, concurrency: int = 4) -> None:
        self._http = http
        self._concurrency = concurrency

    async def retrieve(self, keys: Iterable[DriverKey]) -> dict[DriverKey, DriverProfile]:
        """The profiles driver-profiles knows among `keys`, in bulk (unknown ones are absent)."""
        profiles = await self._bulk(keys, _Profiles)
        return {(p.park_id, p.driver_id): p for answer in profiles for p in answer.profiles}

    async def people(self, keys: Iterable[DriverKey]) -> dict[DriverKey, str]:
        """The unique driver id behind each profile driver-profiles knows among `keys`, in bulk: the
        import of 100,000 rows needs no more, and validating whole profiles was most of its own CPU."""
        answers = await self._bulk(keys, _People)
        return {(p.park_id, p.driver_id): p.unique_driver_id for answer in answers for p in answer.profiles}

    async def _bulk(self, keys: Iterable[DriverKey], answer: type[A]) -> list[A]:
        unique = sorted(set(keys))
        gate = asyncio.Semaphore(self._concurrency)

        async def one_call(chunk: Sequence[DriverKey]) -> A:
            body = {"profiles": [{"park_id": p, "driver_id": d} for p, d in chunk]}
            async with gate:
                found = await self._http.call("POST", "/v1/profiles/retrieve", answer, json=body)
            if found is None:
                raise UpstreamError(self._http.name, "answered 404 to a bulk retrieve")
            return found

        return await _all(one_call(c) for c in _chunks(unique, PROFILES_PER_CALL))

    async def get(self, key: DriverKey) -> DriverProfile | None:
        return (await self.retrieve([key])).get(key)


class Personal:
    """personal: `phone_pd_id` → phone number. Phones are never stored or logged."""

    def __init__(self, http: UpstreamHttp) -> None:
        self._http = http

    async def phones(self, pd_ids: Iterable[str]) -> dict[str, str]:
        unique = sorted(set(pd_ids))
        if not unique:
            return {}
        phones: dict[str, str] = {}
        for chunk in _chunks(unique, PHONES_PER_CALL):
            answer = await self._http.call("POST", "/v1/phones/retrieve", _Phones, json={"ids": list(chunk)})
            if answer is None:
                raise UpstreamError(self._http.name, "answered 404 to a bulk retrieve")
            for item in answer.phones:
                phones[item.id] = item.phone
        return phones


class _Position(_Answer):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class _City(_Answer):
    city: str = Field(max_length=200)


class _Rented(_Answer):
    rented: bool


class Trackstory:
    """trackstory: a driver's last known position."""

    def __init__(self, http: UpstreamHttp) -> None:
        self._http = http

    async def last_position(self, key: DriverKey) -> Point | None:
        body = {"park_id": key[0], "driver_id": key[1]}
        position = await self._http.call("POST", "/v1/positions/last", _Position, json=body)
        return None if position is None else Point(position.lat, position.lon)


class Geobase:
    """geobase: a position → the city it is in."""

    def __init__(self, http: UpstreamHttp) -> None:
        self._http = http

    async def city(self, point: Point) -> str | None:
        params = {"lat": repr(point.lat), "lon": repr(point.lon)}
        answer = await self._http.call("GET", "/v1/city", _City, params=params)
        return None if answer is None else answer.city


class FleetRent:
    """fleet-rent: whether the driver drives a rented car."""

    def __init__(self, http: UpstreamHttp) -> None:
        self._http = http

    async def is_rented(self, key: DriverKey) -> bool:
        body = {"park_id": key[0], "driver_id": key[1]}
        answer = await self._http.call("POST", "/v1/rentals/active", _Rented, json=body)
        return False if answer is None else answer.rented


@dataclass(frozen=True)
class ClientEvent:
    park_id: str
    driver_id: str
    event: str
    payload: dict[str, Any]


class ClientEvents:
    """client-events: bulk push of events to drivers' apps."""

    def __init__(self, http: UpstreamHttp, concurrency: int = 4) -> None:
        self._http = http
        self._concurrency = concurrency

    async def push(self, events: Sequence[ClientEvent]) -> None:
        """Every event delivered, a few calls at a time; any call failing (after its retries) fails
        the push, and the caller pushes again later (client-events is at-least-once for us)."""
        gate = asyncio.Semaphore(self._concurrency)

        async def one_call(chunk: Sequence[ClientEvent]) -> None:
            body = {
                "events": [
                    {"park_id": e.park_id, "driver_id": e.driver_id, "event": e.event, "payload": e.payload}
                    for e in chunk
                ]
            }
            async with gate:
                answer = await self._http.call("POST", "/v1/push/bulk", _Answer, json=body)
            if answer is None:
                raise UpstreamError(self._http.name, "answered 404 to a bulk push")

        await _all(one_call(c) for c in _chunks(events, EVENTS_PER_CALL))


@dataclass(frozen=True)
class Upstreams:
    driver_profiles: DriverProfiles
    personal: Personal
    trackstory: Trackstory
    geobase: Geobase
    fleet_rent: FleetRent
    client_events: ClientEvents


def build_upstreams(settings: Settings, session: aiohttp.ClientSession) -> Upstreams:
    def http(name: str, url: str) -> UpstreamHttp:
        return UpstreamHttp(
            name,
            session,
            url,
            timeout=settings.upstream_timeout_seconds,
            attempts=settings.upstream_attempts,
            retry_delay=settings.upstream_retry_delay_seconds,
        )

    return Upstreams(
        driver_profiles=DriverProfiles(http("driver-profiles", settings.driver_profiles_url)),
        personal=Personal(http("personal", settings.personal_url)),
        trackstory=Trackstory(http("trackstory", settings.trackstory_url)),
        geobase=Geobase(http("geobase", settings.geobase_url)),
        fleet_rent=FleetRent(http("fleet-rent", settings.fleet_rent_url)),
        client_events=ClientEvents(http("client-events", settings.client_events_url)),
    )


def upstream_session() -> aiohttp.ClientSession:
    """The process's one HTTP session to every upstream (call it inside the running event loop)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200, limit_per_host=100))


@asynccontextmanager
async def open_upstreams(settings: Settings) -> AsyncIterator[Upstreams]:
    """The process's one HTTP session and the clients over it; the session closes on exit."""
    async with upstream_session() as session:
        yield build_upstreams(settings, session)
