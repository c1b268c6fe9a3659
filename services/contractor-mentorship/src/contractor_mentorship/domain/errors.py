"""The service's exceptions: `str()` is what a client reads (never personal data, never internals)."""

from __future__ import annotations


class DriverNotFound(Exception):
    """driver-profiles does not know the caller's profile."""

    def __init__(self) -> None:
        super().__init__("driver profile not found")


class MentorCannotAccept(Exception):
    def __init__(self) -> None:
        super().__init__("a mentor cannot join the programme as a newbie")


class MatchingNotFound(Exception):
    def __init__(self) -> None:
        super().__init__("matching not found")


class UnknownJob(Exception):
    def __init__(self, job: str, known: list[str]) -> None:
        super().__init__(f"unknown job; known jobs: {', '.join(known)}")
        self.details = {"job": job[:64], "known": known}


class JobRunning(Exception):
    def __init__(self, job: str) -> None:
        super().__init__(f"job {job} is running right now; try again when it is done")


class UpstreamError(Exception):
    """An upstream failed (status, timeout, connection, unreadable answer) after its retries.

    The message names the upstream and what went wrong, never what was sent or received.
    """

    def __init__(self, upstream: str, problem: str) -> None:
        super().__init__(f"{upstream} {problem}")
        self.upstream = upstream
        self.problem = problem


class UpstreamUnavailable(Exception):
    """What a client reads when an upstream needed to answer them is down (503)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(f"{upstream} is unavailable; try again later")
        self.details = {"upstream": upstream}
