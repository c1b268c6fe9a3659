"""The service's exceptions. Their `str()` is the message a client reads and `details` the envelope's
details; `segments.errors.ERRORS` maps each to a status and an error code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RuleViolation(ValueError):
    """Bad input, named by the field it concerns (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    @property
    def details(self) -> list[dict[str, Any]]:
        return [{"field": self.field, "message": str(self), "type": "rule"}]


class SegmentExists(Exception):
    def __init__(self, slug: str) -> None:
        super().__init__(f"segment {slug} already exists (slugs of deleted segments are not reused)")
        self.slug = slug
        self.details = {"slug": slug}


class SegmentsNotFound(Exception):
    def __init__(self, slugs: Sequence[str]) -> None:
        super().__init__(f"unknown or deleted segments: {', '.join(slugs)}")
        self.slugs = list(slugs)
        self.details = {"slugs": self.slugs}


class ReportNotFound(Exception):
    def __init__(self, report_id: str) -> None:
        super().__init__(f"report {report_id} does not exist")


class ReportFailed(Exception):
    """The report could not be built; `reason` is a stable code, never an exception's text."""

    def __init__(self, report_id: str, reason: str) -> None:
        super().__init__(f"report {report_id} failed ({reason}); request it again")
        self.details = {"reason": reason}


class ReportGone(Exception):
    """The report was built but its file is no longer in the object store."""

    def __init__(self, report_id: str) -> None:
        super().__init__(f"the file of report {report_id} is no longer available; request it again")
