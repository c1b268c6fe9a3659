"""What storage returns: plain records of the service's aggregates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from segments.domain.rules import percent_of


@dataclass(frozen=True)
class Segment:
    id: int
    slug: str
    rollout_buckets: int  # rollout size in 1/10,000 of the users
    salt: str
    created_at: datetime
    deleted_at: datetime | None

    @property
    def percent(self) -> float:
        return percent_of(self.rollout_buckets)


@dataclass(frozen=True)
class Registration:
    registered: int
    rollout_memberships: int


ReportStatus = Literal["pending", "ready", "failed"]


@dataclass(frozen=True)
class Report:
    report_id: uuid.UUID
    user_id: int
    period_from: date
    period_to: date
    status: ReportStatus
    object_key: str | None
    failure_reason: str | None


@dataclass(frozen=True)
class HistoryEntry:
    user_id: int
    slug: str
    operation: str
    at: datetime


@dataclass(frozen=True)
class Growth:
    """A rollout grown from `from_buckets` to `to_buckets`, materialised up to user `next_user_id`."""

    segment_id: int
    slug: str
    salt: str
    from_buckets: int
    to_buckets: int
    next_user_id: int
