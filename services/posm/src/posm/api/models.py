"""Request and response models (they make the OpenAPI document)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from posm.domain.settings import TemplateSettings


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
MAX_TABLES = 10_000
MAX_LINKS = 1_000


class PlacePath(BaseModel):
    model_config = ConfigDict(extra="forbid")

    place_id: uuid.UUID


class TablePath(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table_id: uuid.UUID


class TemplatePath(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: int = Field(gt=0, le=2**63 - 1)


class GenerationPath(BaseModel):
    model_config = ConfigDict(extra="forbid")

    place_id: uuid.UUID
    generation_id: int = Field(gt=0, le=2**63 - 1)


class GenerationTablePath(GenerationPath):
    table_id: uuid.UUID


class TableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    label: Text = Field(min_length=1, max_length=100)


class PutPlaceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=300)
    brand_id: uuid.UUID | None = None
    tables: list[TableIn] = Field(max_length=MAX_TABLES, description="the full current set of tables")

    @model_validator(mode="after")
    def _unique_tables(self) -> PutPlaceRequest:
        if len({t.id for t in self.tables}) != len(self.tables):
            raise ValueError("tables: every table id must appear once")
        return self


class Table(BaseModel):
    id: uuid.UUID
    label: str


class Place(BaseModel):
    place_id: uuid.UUID
    name: str
    brand_id: uuid.UUID | None
    tables: list[Table]
    updated_at: datetime


Visibility = Literal["global", "restaurant", "brand"]


class TemplateMetadata(BaseModel):
    """The `metadata` part of a template upload (JSON)."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=2000)
    settings: TemplateSettings
    visibility: Visibility
    place_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_LINKS)
    brand_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_LINKS)


class TemplatePatch(BaseModel):
    """The `metadata` part of a PATCH (JSON): only the fields to change."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=2000)
    settings: TemplateSettings | None = None
    visibility: Visibility | None = None
    place_ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_LINKS)
    brand_ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_LINKS)


class Template(BaseModel):
    id: int
    name: str
    description: str | None
    settings: TemplateSettings
    visibility: Visibility
    place_ids: list[uuid.UUID]
    brand_ids: list[uuid.UUID]
    page_sizes: list[tuple[float, float]]
    created_at: datetime
    updated_at: datetime


class TemplatesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    place_id: uuid.UUID | None = Field(default=None, description="only the templates this place may use")


class GenerationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: int = Field(gt=0, le=2**63 - 1)
    settings: dict[str, Any] | None = Field(
        default=None,
        description="overrides of the template's settings (any subset, e.g. {'qr': {'size': 120}})",
    )
    table_ids: list[uuid.UUID] | None = Field(
        default=None, min_length=1, max_length=MAX_TABLES, description="only these tables (default: all)"
    )


GenerationStatus = Literal["created", "scheduled", "in-progress", "done", "error", "deleted"]


class GenerationCreated(BaseModel):
    id: int
    version: int
    status: GenerationStatus


class GenerationSummary(BaseModel):
    id: int
    template_id: int
    version: int
    status: GenerationStatus
    author: str
    comment: str | None
    tables: int = Field(description="tables in the generation")
    rendered: int = Field(description="tables rendered so far")
    created_at: datetime
    updated_at: datetime


class GenerationHistory(BaseModel):
    items: list[GenerationSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: int | None = Field(default=None, gt=0, le=2**63 - 1)
    cursor: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,18}$")
    limit: int = Field(50, ge=1, le=200)


class GenerationTable(BaseModel):
    id: uuid.UUID
    label: str
    rendered: bool


class GenerationDetail(BaseModel):
    id: int
    place_id: uuid.UUID
    template_id: int
    version: int
    status: GenerationStatus
    author: str
    comment: str | None
    settings: TemplateSettings
    tables: list[GenerationTable]
    created_at: datetime
    updated_at: datetime


class CheckResult(BaseModel):
    ok: bool = Field(description="the generation has exactly the place's current tables")
    added_tables: list[Table] = Field(description="in the place now, not in the generation")
    removed_tables: list[Table] = Field(description="in the generation, no longer in the place")


class TemplatePreviewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=10_000, description="the page to show (1-based)")
    width: int = Field(600, ge=100, le=1600, description="width of the picture in pixels")


class QrPngQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(512, ge=64, le=4096, description="side in pixels")
