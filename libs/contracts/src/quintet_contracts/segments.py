"""Events published by the segments service."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from quintet_contracts.envelope import register_event


class MembershipChanged(BaseModel):
    user_id: int = Field(gt=0, description="the user whose membership changed")
    slug: str = Field(description="segment slug, upper case")
    operation: Literal["add", "delete"]
    reason: Literal["manual", "ttl", "segment_deleted", "rollout"]
    at: datetime = Field(description="when the membership began or ended (UTC)")


class SegmentCreated(BaseModel):
    slug: str
    percent: float | None = Field(default=None, ge=0, le=100, description="rollout percent, if any")
    created_at: datetime


class SegmentDeleted(BaseModel):
    slug: str
    deleted_at: datetime
    memberships_ended: int = Field(ge=0)


MEMBERSHIP_CHANGED = register_event(
    "segments.membership-changed",
    MembershipChanged,
    "A user entered or left a segment (manual change, TTL expiry, segment deletion or rollout).",
)
SEGMENT_CREATED = register_event("segments.segment-created", SegmentCreated, "A segment was created.")
SEGMENT_DELETED = register_event(
    "segments.segment-deleted", SegmentDeleted, "A segment was soft-deleted; its memberships ended."
)
