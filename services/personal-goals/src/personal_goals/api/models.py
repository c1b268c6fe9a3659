"""Request and response models of the personal-goals api."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from personal_goals.domain.upload import MAX_ID_LENGTH

INT64_MAX = 2**63 - 1


def _no_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL: refused here as a 400 naming the field, not a 500 there.
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    return text


Text = Annotated[str, AfterValidator(_no_nul)]
UploadStatus = Literal["pending", "in_progress", "complete", "failed", "cancelled"]
_LAST_ROW_INDEX = Field(
    description="rows of the whole dataset processed so far, i.e. the dataset row the next chunk starts"
    " at (not a count of this selection's rows: see loaded + skipped)"
)

_TABLE = Field(
    min_length=6,
    max_length=1024,
    pattern=r"^s3://[^/]+/.+",
    description="dataset address: s3://bucket/key (one object) or s3://bucket/prefix/ (part files)",
    examples=["s3://goals/new-year.parquet"],
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UploadTableRequest(_Strict):
    table: Text = _TABLE


class ApplyUploadRequest(_Strict):
    table: Text = _TABLE
    skipped_offset: int = Field(0, ge=0, le=INT64_MAX, description="page through skipped goals")
    skipped_limit: int | None = Field(None, ge=1, le=10_000, description="default: the service's cap")


class SelectionRows(BaseModel):
    selection_id: str
    rows: int


class ValidateUploadResponse(BaseModel):
    rows: int = Field(description="rows in the dataset")
    selections: list[SelectionRows]


class SelectionUploadProgress(BaseModel):
    selection_id: str
    status: UploadStatus
    last_row_index: int = _LAST_ROW_INDEX
    rows: int = Field(description="rows of this selection in the dataset")
    loaded: int
    skipped: int


class SkippedGoal(BaseModel):
    row_index: int
    goal_id: str | None
    selection_id: str | None
    reason: str = Field(
        description="overlap | duplicate_goal_id | invalid_period | unknown_selection"
        " | unreadable_row | missing_field:<column> | invalid_text:<column> | too_long:<column>"
        " | invalid_json:<column> | invalid_timestamp:<column>"
    )


class UploadStatusResponse(BaseModel):
    status: Literal["in_progress", "complete", "partially_completed", "failed", "cancelled"]
    selections: list[SelectionUploadProgress]
    skipped_goals: list[SkippedGoal] = Field(description="a page of the skipped goals, by row index")
    skipped_total: int
    failure_reason: str | None = None


class UpdateSelectionRequest(_Strict):
    selection_id: Text = Field(min_length=1, max_length=MAX_ID_LENGTH)
    status: Literal["active", "hidden"]


class SelectionPath(BaseModel):
    selection_id: Text = Field(min_length=1, max_length=MAX_ID_LENGTH)


class SelectionListQuery(_Strict):
    offset: int = Field(0, ge=0, le=INT64_MAX)
    limit: int = Field(100, ge=1, le=1000)


class SelectionUpload(BaseModel):
    table: str
    status: UploadStatus
    rows: int = Field(description="rows of this selection in the dataset")
    last_row_index: int = _LAST_ROW_INDEX


class Selection(BaseModel):
    selection_id: str
    status: Literal["active", "hidden"]
    goals: int = Field(description="goals loaded into this selection")
    skipped: int = Field(description="rows of this selection the upload skipped")
    upload: SelectionUpload | None
    created_at: datetime
    updated_at: datetime


class GoalPath(BaseModel):
    goal_id: Text = Field(min_length=1, max_length=MAX_ID_LENGTH)


class GoalsQuery(_Strict):
    yandex_uid: Text | None = Field(
        None,
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description="the user whose goals to read; needs scope goals:read-any unless it is the token's sub",
    )


class Goal(BaseModel):
    goal_id: str
    selection_id: str
    application: str
    conditions: dict[str, Any]
    bonus: dict[str, Any]
    starts_at: datetime
    expires_at: datetime
