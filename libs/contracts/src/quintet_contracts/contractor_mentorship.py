"""Events published by the contractor-mentorship service."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from quintet_contracts.envelope import register_event

MatchingStatus = Literal[
    "created", "requested", "matched", "initialized", "in_progress", "finished", "succeed", "failed"
]


class DriverRef(BaseModel):
    """One driver profile: the park and the driver's id within it."""

    park_id: str = Field(min_length=1, max_length=64)
    driver_id: str = Field(min_length=1, max_length=64)


class MatchingChanged(BaseModel):
    # `from` is a Python keyword: the field is `from_` and travels as "from".
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    matching_id: uuid.UUID
    from_: MatchingStatus | None = Field(
        alias="from", description="the status before the change; null when the matching was created"
    )
    to: MatchingStatus = Field(description="the status after the change")
    newbie: DriverRef = Field(description="the newbie's profile that accepted the offer")
    mentor: DriverRef | None = Field(description="the mentor's profile, once the CRM matched one")


MATCHING_CHANGED = register_event(
    "contractor-mentorship.matching-changed",
    MatchingChanged,
    "A newbie/mentor matching changed status (created, requested by the CRM, matched, notified, "
    "progress imported, finished, succeed or failed).",
)
