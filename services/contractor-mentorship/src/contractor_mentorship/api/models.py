"""Request and response models of the contractor-mentorship api (they make the OpenAPI)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from quintet_contracts.contractor_mentorship import MatchingStatus


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class ParticipationStatus(BaseModel):
    role: Literal["newbie", "mentor", "none"]
    status: MatchingStatus | None = Field(description="the newbie's matching status; null otherwise")
    show_offer: bool = Field(description="hired recently, no matching, no mentor: offer the programme")


class AcceptedMatching(BaseModel):
    id: uuid.UUID
    status: MatchingStatus


class ContactMessage(BaseModel):
    id: int
    text: str
    created_at: datetime


class Contact(BaseModel):
    matching_id: uuid.UUID
    status: MatchingStatus
    name: str | None
    phone: str | None = Field(description="fetched from personal for this answer; never stored")
    whatsapp_link: str | None = Field(description="https://wa.me/<digits>")
    messages: list[ContactMessage]
    unread: int = Field(ge=0, description="messages newer than the reader's last read mark")


class Contacts(BaseModel):
    role: Literal["newbie", "mentor", "none"]
    contacts: list[Contact]


class MatchingPath(BaseModel):
    matching_id: uuid.UUID


class AdminMatchingPath(BaseModel):
    id: uuid.UUID


class JobPath(BaseModel):
    job: str = Field(min_length=1, max_length=64)

    _check = field_validator("job")(_no_nul)


class MatchingsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: MatchingStatus | None = None
    park_id: str | None = Field(None, min_length=1, max_length=64)
    driver_id: str | None = Field(None, min_length=1, max_length=64)
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=500)

    _check = field_validator("park_id", "driver_id", "cursor")(_no_nul)


class Matching(BaseModel):
    id: uuid.UUID
    created_at: datetime
    matched_at: datetime | None
    status: MatchingStatus
    newbie_park_id: str
    newbie_driver_id: str
    newbie_unique_driver_id: str
    mentor_park_id: str | None
    mentor_driver_id: str | None
    mentor_promocode: str | None
    completed_at: datetime | None
    original_connected_dttm: datetime | None
    newbie_last_read_at: datetime | None
    mentor_last_read_at: datetime | None
    request_failure: str | None = Field(description="why the CRM request was given up, if it was")


class MatchingsPage(BaseModel):
    matchings: list[Matching]
    next_cursor: str | None


class StatusTransition(BaseModel):
    id: int
    created_at: datetime
    from_: MatchingStatus | None = Field(alias="from", serialization_alias="from")
    to: MatchingStatus

    model_config = ConfigDict(populate_by_name=True)


class Results(BaseModel):
    stage: Literal["7d", "14d"]
    rate_avg_7d: str | None
    rate_avg_14d: str | None
    avg_dp_7d: str | None
    avg_dp_14d: str | None
    sh_7d: str | None
    sh_14d: str | None
    correct_answers: str | None
    passed_test_flg: str | None
    imported_at: datetime


class MatchingDetails(Matching):
    transitions: list[StatusTransition]
    results: list[Results]


class JobRun(BaseModel):
    job: str
    counts: dict[str, int] = Field(description="what the run did, e.g. rows read, matchings moved")
