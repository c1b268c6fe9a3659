"""HTTP client of the routing solver: one aiohttp session per process, a timeout on every request and
a bounded retry on network errors and 5xx answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
import structlog
from pydantic import ValidationError

from vrs_import.domain.errors import SolverUnavailable, TaskNotImportable
from vrs_import.solver.models import TaskAnswer

log = structlog.get_logger("vrs_import.solver")

# A solution of 50,000 orders is about 20 MB of JSON; anything far larger is not a solution.
MAX_ANSWER_BYTES = 128 * 1024**2
_BACKOFF_S = (0.2, 1.0, 3.0)


class AnswerTooLarge(Exception):
    pass


@dataclass(frozen=True)
class TaskLookup:
    """What the solver said about a task: `answer` is None when it does not know the task (404)."""

    http_status: int
    answer: TaskAnswer | None


class SolverClient:
    def __init__(self, base_url: str, *, timeout_s: float, attempts: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.attempts = attempts
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running event loop, and reused for the process's lifetime.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, raise_for_status=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def task(self, task_id: str) -> TaskLookup:
        """The task's status and, once solved, its result. `SolverUnavailable` when the solver does
        not answer usably after every attempt."""
        url = f"{self.base_url}/vrs/api/v1/result/mvrp/{task_id}"
        for attempt in range(self.attempts):
            try:
                async with self._client().get(url) as response:
                    if response.status == 404:
                        return TaskLookup(404, None)
                    if response.status in (200, 202):
                        body = await _read_bounded(response)
                        return TaskLookup(response.status, TaskAnswer.model_validate_json(body))
                    reason = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = repr(exc)
            except (ValidationError, AnswerTooLarge) as exc:
                # A malformed answer will not get better by asking again.
                log.warning("unusable solver answer", task_id=task_id, error=str(exc)[:500])
                raise TaskNotImportable(
                    task_id, "the solver's answer for it is malformed or too large"
                ) from exc
            log.warning("solver request failed", task_id=task_id, attempt=attempt + 1, reason=reason)
            if attempt + 1 < self.attempts:
                await asyncio.sleep(_BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)])
        raise SolverUnavailable()


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    if (response.content_length or 0) > MAX_ANSWER_BYTES:
        raise AnswerTooLarge(f"answer of {response.content_length} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(1024 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise AnswerTooLarge(f"answer over {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
