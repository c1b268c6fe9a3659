"""Pure rules of segmentation: slugs, rollout sizes, membership changes, TTLs, report periods."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from segments.domain.errors import RuleViolation

SLUG_PATTERN = re.compile(r"^[A-Z0-9_.\-]{1,128}$")
BUCKETS = 10_000  # rollout granularity: 0.01 %
MAX_USER_ID = 2**63 - 1
MAX_TTL = timedelta(days=100 * 365)  # also bounds expires_at: beyond it timestamps overflow


def normalise_slug(raw: str, field: str = "slug") -> str:
    """Slugs are case-insensitive: stored and compared in upper case."""
    slug = raw.strip().upper()
    # ASCII only, checked before upper-casing too: "ı".upper() is "I", "ﬀ".upper() is "FF".
    if not raw.isascii() or not SLUG_PATTERN.match(slug):
        raise RuleViolation(field, f"slug {raw!r} must be 1..128 characters of A-Z 0-9 _ - .")
    return slug


def rollout_buckets(percent: float | None, selection: float | None) -> int:
    """The rollout size in buckets from `percent` (0..100) or the seed's `selection` (0..1)."""
    if percent is not None and selection is not None:
        raise RuleViolation("percent", "give percent or selection, not both")
    if selection is not None:
        if not 0 <= selection <= 1:
            raise RuleViolation("selection", "selection must be within 0..1")
        percent = selection * 100
    if percent is None:
        return 0
    if not 0 <= percent <= 100:
        raise RuleViolation("percent", "percent must be within 0..100")
    return round(percent * BUCKETS / 100)


def percent_of(buckets: int) -> float:
    return buckets * 100 / BUCKETS


@dataclass(frozen=True)
class SegmentToAdd:
    slug: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class MembershipChange:
    to_add: tuple[SegmentToAdd, ...]
    to_delete: tuple[str, ...]

    @property
    def slugs(self) -> list[str]:
        return [a.slug for a in self.to_add] + list(self.to_delete)


def expiry(
    expires_at: datetime | None, ttl_seconds: int | None, now: datetime, field: str
) -> datetime | None:
    """When an added membership ends: an absolute time in the future, or now + a positive TTL."""
    if expires_at is not None and ttl_seconds is not None:
        raise RuleViolation(field, "give expires_at or ttl_seconds, not both")
    if ttl_seconds is not None:
        if ttl_seconds <= 0:
            raise RuleViolation(field, "ttl_seconds must be positive")
        return now + timedelta(seconds=ttl_seconds)
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise RuleViolation(field, "expires_at must carry a time zone (e.g. 2030-01-01T00:00:00Z)")
    if expires_at <= now:
        raise RuleViolation(field, f"expires_at {expires_at.isoformat()} is not in the future")
    if expires_at - now > MAX_TTL:
        raise RuleViolation(field, f"expires_at {expires_at.isoformat()} is more than 100 years ahead")
    return expires_at


def membership_change(to_add: list[SegmentToAdd], to_delete: list[str]) -> MembershipChange:
    """A slug may appear once across both lists: twice, or added and deleted at once, is ambiguous."""
    seen: set[str] = set()
    repeated: list[str] = []
    for slug in [a.slug for a in to_add] + to_delete:
        if slug in seen and slug not in repeated:
            repeated.append(slug)
        seen.add(slug)
    if repeated:
        raise RuleViolation(
            "segments_to_add", f"each segment may appear once across both lists: {', '.join(repeated)}"
        )
    return MembershipChange(tuple(to_add), tuple(to_delete))


@dataclass(frozen=True)
class ReportPeriod:
    """Half-open [start, end) in UTC days."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def report_period(period: str | None, start: str | None, end: str | None) -> ReportPeriod:
    """`period=YYYY-MM` (that month) or `from=YYYY-MM-DD&to=YYYY-MM-DD` (half-open), not both."""
    if period is not None:
        if start is not None or end is not None:
            raise RuleViolation("period", "give period or from/to, not both")
        match = _MONTH.match(period)
        if not match or not 1 <= int(match.group(2)) <= 12 or not 1 <= int(match.group(1)) <= 9998:
            raise RuleViolation("period", f"period {period!r} must be YYYY-MM")
        year, month = int(match.group(1)), int(match.group(2))
        following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return ReportPeriod(date(year, month, 1), following)
    if start is None or end is None:
        raise RuleViolation("period", "give period=YYYY-MM or both from and to (YYYY-MM-DD)")
    first, last = _day(start, "from"), _day(end, "to")
    if last <= first:
        raise RuleViolation("to", "to must be after from (the period is half-open)")
    return ReportPeriod(first, last)


def _day(value: str, field: str) -> date:
    try:
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as exc:
        raise RuleViolation(field, f"{field} {value!r} must be a date YYYY-MM-DD") from exc
