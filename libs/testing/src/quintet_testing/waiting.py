"""`eventually`: the one way a test waits for something."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T] | T],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 (a deadline, not a wrapped call: tests read `timeout=`)
    interval: float = 0.02,
) -> T:
    """Call `check` until it returns a truthy value without raising AssertionError; return that value.

    `check` may be sync or async. When `timeout` seconds pass first, the last AssertionError is raised
    (or one saying what the check last returned), so a failing wait reads like a failing assert.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result  # type: ignore[return-value]
            failure: AssertionError = AssertionError(f"condition not met within {timeout}s: got {result!r}")
        except AssertionError as exc:
            failure = exc
        if loop.time() >= deadline:
            raise failure
        await asyncio.sleep(interval)


def eventually_blocking(check: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.1) -> T:
    """`eventually` for tests that drive processes synchronously (no event loop): same contract."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
            failure: AssertionError = AssertionError(f"condition not met within {timeout}s: got {result!r}")
        except AssertionError as exc:
            failure = exc
        if time.monotonic() >= deadline:
            raise failure
        time.sleep(interval)
