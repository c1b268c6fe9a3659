"""The upstream client's own limits, against a small HTTP server of the test's making."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contractor_mentorship.domain.errors import UpstreamError
from contractor_mentorship.upstreams import MAX_ANSWER_BYTES, ClientEvent, ClientEvents, UpstreamHttp


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    """An upstream that answers 9 MB of JSON on /huge; on /v1/push/bulk, 400 to the first call and a
    slow success to the others."""
    calls = 0

    async def huge(_: web.Request) -> web.Response:
        return web.Response(body=b'{"x": "' + b"a" * (MAX_ANSWER_BYTES + 1024) + b'"}')

    async def push(_: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=400)
        await asyncio.sleep(0.5)  # the upstream's own latency, not a wait of the test
        return web.json_response({"accepted": 1})

    app = web.Application()
    app.router.add_post("/huge", huge)
    app.router.add_post("/v1/push/bulk", push)
    async with TestServer(app) as server:
        yield str(server.make_url(""))


def http(session: aiohttp.ClientSession, base_url: str) -> UpstreamHttp:
    return UpstreamHttp("test-upstream", session, base_url, timeout=10, attempts=1, retry_delay=0)


async def test_an_answer_over_the_size_limit_is_an_upstream_error(upstream: str) -> None:
    from contractor_mentorship.upstreams import _Answer

    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamError, match="answered more than"):
            await http(session, upstream).call("POST", "/huge", _Answer, json={})


async def test_a_failed_bulk_push_leaves_none_of_its_calls_running(upstream: str) -> None:
    events = [ClientEvent(park_id="p", driver_id=f"d{i}", event="e", payload={}) for i in range(1500)]
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamError):
            await ClientEvents(http(session, upstream)).push(events)  # three calls of 500
        # The other two calls (each waiting 0.5 s on the upstream) were cancelled and awaited when
        # push raised: no task of the push is left running.
        running = [
            t
            for t in asyncio.all_tasks()
            if not t.done() and "one_call" in getattr(t.get_coro(), "__qualname__", "")
        ]
        assert running == []
