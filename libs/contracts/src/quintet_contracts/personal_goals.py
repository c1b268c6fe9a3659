"""Events published by the personal-goals service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from quintet_contracts.envelope import register_event

SelectionUploadStatus = Literal["pending", "in_progress", "complete", "failed", "cancelled"]


class UploadProgress(BaseModel):
    table: str = Field(description="dataset address the upload reads, s3://bucket/key")
    selection_id: str
    last_row_index: int = Field(
        ge=0,
        description="rows of the whole dataset processed so far (the dataset row the next chunk starts"
        " at), not a count of this selection's rows: those are loaded + skipped",
    )
    loaded: int = Field(ge=0, description="goals of this selection loaded so far")
    skipped: int = Field(ge=0, description="rows of this selection skipped so far")
    status: SelectionUploadStatus


class SelectionStatusChanged(BaseModel):
    selection_id: str
    status: Literal["active", "hidden"]
    previous_status: Literal["active", "hidden"] | None = None


UPLOAD_PROGRESS = register_event(
    "personal-goals.upload-progress",
    UploadProgress,
    "A chunk of a goals upload was committed for one selection (or the upload was cancelled).",
)
SELECTION_STATUS_CHANGED = register_event(
    "personal-goals.selection-status-changed",
    SelectionStatusChanged,
    "An admin activated or hid a selection.",
)
