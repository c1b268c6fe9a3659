"""The service's exceptions: their `str()` is what a client reads; `details` becomes the envelope's
details. `personal_goals.errors` maps each to its status and error code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetProblem:
    field: str
    problem: str
    message: str


class DatasetInvalid(Exception):
    """The dataset cannot be uploaded; every problem is named."""

    def __init__(self, table: str, problems: list[DatasetProblem]) -> None:
        self.table = table
        self.details = [{"field": p.field, "problem": p.problem, "message": p.message} for p in problems]
        messages = "; ".join(p.message for p in problems)
        # Problems from the dataset reader name the address already: say it once.
        prefix = "" if all(table in p.message for p in problems) else f"dataset {table} cannot be uploaded: "
        super().__init__(prefix + messages)


class SelectionsAlreadyUploading(Exception):
    def __init__(self, selection_ids: list[str]) -> None:
        self.details = {"selection_ids": selection_ids}
        super().__init__(f"an upload of selection(s) {', '.join(selection_ids)} has already started")


class UploadNotFound(Exception):
    def __init__(self, table: str) -> None:
        super().__init__(f"no upload of {table} was started")


class UploadFinished(Exception):
    def __init__(self, table: str, status: str) -> None:
        self.details = {"status": status}
        super().__init__(
            f"the upload of {table} is {status}; only a running or failed upload can be cancelled"
        )


class SelectionNotFound(Exception):
    def __init__(self, selection_id: str) -> None:
        super().__init__(f"selection {selection_id!r} does not exist")


class GoalNotFound(Exception):
    def __init__(self, goal_id: str) -> None:
        super().__init__(f"goal {goal_id!r} not found")


class ReadingOthersGoalsForbidden(Exception):
    """Naming another user needs the `goals:read-any` scope (trusted backends only)."""

    def __init__(self, scope: str) -> None:
        self.details = {"scope": scope}
        super().__init__(f"reading the goals of a named user needs scope {scope}")


class NoUser(Exception):
    def __init__(self) -> None:
        super().__init__(
            "the token names no user (empty sub); name one with ?yandex_uid= and scope goals:read-any"
        )
