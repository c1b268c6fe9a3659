"""Who is offered the programme."""

from __future__ import annotations

from datetime import datetime, timedelta


def show_offer(
    *, hired_at: datetime | None, now: datetime, offer_days: int, has_matching: bool, is_mentor: bool
) -> bool:
    """A driver hired within the last `offer_days` days who has no matching and is no mentor."""
    if has_matching or is_mentor or hired_at is None:
        return False
    return now - timedelta(days=offer_days) <= hired_at <= now


def participation_days(matched_at: datetime | None, now: datetime) -> float:
    """Days since the match (0 before it)."""
    if matched_at is None:
        return 0.0
    return max(0.0, (now - matched_at).total_seconds() / 86400)
