"""Request and response models of the segments api (paths compatible with the seed's)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictFloat, StrictInt

from segments.domain.rules import MAX_TTL, MAX_USER_ID

_USER_ID = Field(gt=0, le=MAX_USER_ID, description="positive 64-bit user id")


def _digits_only(value: object) -> object:
    """A user id in a path is written in decimal digits: not "5.0", "+6", "1_000" or " 7"."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a positive integer written in digits")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateSegmentRequest(_Strict):
    slug: str = Field(min_length=1, max_length=128, description="normalised to upper case; A-Z 0-9 _ - .")
    percent: StrictFloat | None = Field(
        None, ge=0, le=100, description="sticky rollout over every known user"
    )
    selection: StrictFloat | None = Field(
        None, ge=0, le=1, description="the seed's rollout share 0..1 (= percent/100)"
    )


class ChangeRolloutRequest(_Strict):
    percent: StrictFloat | None = Field(None, ge=0, le=100)
    selection: StrictFloat | None = Field(None, ge=0, le=1)


class SegmentPath(BaseModel):
    slug: str = Field(min_length=1, max_length=128)


class Segment(BaseModel):
    slug: str
    percent: float = Field(description="rollout percent (0: explicit membership only)")
    created_at: datetime


class SegmentToAdd(_Strict):
    slug: str = Field(min_length=1, max_length=128)
    expires_at: datetime | None = Field(None, description="the membership ends then (must be in the future)")
    ttl_seconds: StrictInt | None = Field(
        None,
        gt=0,
        le=int(MAX_TTL.total_seconds()),
        description="the membership ends this many seconds from now",
    )


class UpdateUserSegmentsRequest(_Strict):
    segments_to_add: list[str | SegmentToAdd] = Field(default_factory=list)
    segments_to_delete: list[str] = Field(default_factory=list)


class UserPath(BaseModel):
    user_id: Annotated[int, BeforeValidator(_digits_only)] = _USER_ID


class RegisterUsersRequest(_Strict):
    user_ids: list[Annotated[StrictInt, _USER_ID]] = Field(
        max_length=100_000, description="up to 100,000 positive 64-bit ids per call"
    )


class Registration(BaseModel):
    registered: int = Field(description="users that were not known before")
    rollout_memberships: int = Field(description="rollout memberships these users started")


class ReportQuery(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    period: str | None = Field(None, description="YYYY-MM")
    from_: str | None = Field(None, alias="from", description="YYYY-MM-DD (inclusive)")
    to: str | None = Field(None, description="YYYY-MM-DD (exclusive)")


class ReportAccepted(BaseModel):
    report_id: uuid.UUID
    link: str = Field(description="absolute URL of the CSV: 202 while pending, 200 text/csv when ready")


class ReportPath(BaseModel):
    report_id: str = Field(description="the report id (a UUID) from the report request's answer")


class ReportPending(BaseModel):
    report_id: uuid.UUID
    status: Literal["pending"]
