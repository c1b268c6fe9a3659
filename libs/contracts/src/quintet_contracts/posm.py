"""Events published by the posm service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from quintet_contracts.envelope import register_event


class PosmRequested(BaseModel):
    generation_id: int = Field(gt=0, description="the generation to render (or to go on rendering)")


class GenerationStatusChanged(BaseModel):
    generation_id: int = Field(gt=0)
    place_id: uuid.UUID
    template_id: int = Field(gt=0)
    version: int = Field(gt=0, description="grows by one per (place, template)")
    status: Literal["created", "scheduled", "in-progress", "done", "error", "deleted"]
    comment: str | None = Field(default=None, description="why a generation ended in error")
    at: datetime = Field(description="when the status changed (UTC)")


POSM_REQUESTED = register_event(
    "posm.posm-requested",
    PosmRequested,
    "The scheduler picked a generation (under the concurrency limit): the worker renders it; a long "
    "generation is rendered in slices, each slice asking for the next with the same event.",
)
GENERATION_STATUS_CHANGED = register_event(
    "posm.generation-status-changed",
    GenerationStatusChanged,
    "A generation moved: created -> scheduled -> in-progress -> done | error, or deleted by retention.",
)
