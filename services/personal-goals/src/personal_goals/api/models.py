"""Request and response models of the personal-goals api."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from personal_goals.domain.upload import MAX_ID_LENGTH

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
    table: str = _TABLE


class ApplyUploadRequest(_Strict):
    table: str = _TABLE
    skipped_offset: int = Field(0, ge=0, description="page through skipped goals")
    skipped_limit: int | None = Field(None, ge=1, le=10_000, description="default: the service's cap")


class SelectionRows(BaseModel):
    selection_id: str
    rows: int


class ValidateUploadResponse(BaseModel):
    rows: int = Field(description="rows in the dataset")
    selections: list[SelectionRows]


class SelectionUploadProgress(BaseModel):
    selection_id: str
    status: Literal["pending", "in_progress", "complete", "failed"]
    last_row_index: int
    rows: int
    loaded: int
    skipped: int


class SkippedGoal(BaseModel):
    row_index: int
    goal_id: str | None
    selection_id: str | None
    reason: str = Field(
        description="overlap | duplicate_goal_id | invalid_period | unknown_selection"
        " | missing_field:<column>"
        " | invalid_json:<column> | invalid_timestamp:<column>"
    )


class UploadStatusResponse(BaseModel):
    status: Literal["in_progress", "complete", "partially_completed", "failed"]
    selections: list[SelectionUploadProgress]
    skipped_goals: list[SkippedGoal] = Field(description="a page of the skipped goals, by row index")
    skipped_total: int
    failure_reason: str | None = None


class UpdateSelectionRequest(_Strict):
    selection_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    status: Literal["active", "hidden"]


class SelectionPath(BaseModel):
    selection_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)


class SelectionListQuery(_Strict):
    offset: int = Field(0, ge=0)
    limit: int = Field(100, ge=1, le=1000)


class SelectionUpload(BaseModel):
    table: str
    status: Literal["pending", "in_progress", "complete", "failed"]
    rows: int
    last_row_index: int


class Selection(BaseModel):
    selection_id: str
    status: Literal["active", "hidden"]
    goals: int = Field(description="goals loaded into this selection")
    skipped: int = Field(description="rows of this selection the upload skipped")
    upload: SelectionUpload | None
    created_at: datetime
    updated_at: datetime


class GoalPath(BaseModel):
    goal_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)


class Goal(BaseModel):
    goal_id: str
    selection_id: str
    application: str
    conditions: dict[str, Any]
    bonus: dict[str, Any]
    starts_at: datetime
    expires_at: datetime
