"""Template settings: where the QR and the label go on which page, in PDF points from the top left.

Pydantic checks each value; `check_fits` checks the settings against the template's pages (a rule
across fields that needs the PDF's page sizes).
"""

from __future__ import annotations

import string
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from posm.domain.errors import InvalidSettings

COLOR = r"^#[0-9a-fA-F]{6}$"
# The placeholders a label format may use.
PLACEHOLDERS = frozenset({"label", "table_id"})
MAX_POINTS = 14400.0  # PDF's own limit for a page side (200 inches)


class QrSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: float = Field(ge=0, le=MAX_POINTS, description="left edge of the QR square")
    y: float = Field(ge=0, le=MAX_POINTS, description="top edge of the QR square")
    size: float = Field(gt=0, le=MAX_POINTS, description="side of the QR square")
    dark_color: str = Field("#000000", pattern=COLOR, description="colour of the dark modules")


class TextSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: float = Field(ge=0, le=MAX_POINTS, description="anchor: left end, centre or right end by `align`")
    y: float = Field(ge=0, le=MAX_POINTS, description="baseline of the label")
    font_size: float = Field(gt=0, le=500)
    color: str = Field("#000000", pattern=COLOR)
    align: Literal["left", "center", "right"] = "center"
    format: str = Field(
        "{label}", min_length=1, max_length=200, description="placeholders: {label}, {table_id}"
    )


class TemplateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=10000, description="page number (1-based) that gets the QR and the label")
    qr: QrSettings
    text: TextSettings


def placeholders(label_format: str) -> list[str]:
    """The field names a format uses; raises ValueError for a malformed format."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(label_format):
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} takes no format spec or conversion")
        names.append(name)
    return names


def check_fits(settings: TemplateSettings, page_sizes: list[tuple[float, float]]) -> None:
    """Raise InvalidSettings naming the field when the settings do not fit the template."""
    if "\x00" in settings.text.format:
        raise InvalidSettings("settings.text.format", "must not contain NUL characters")
    try:
        names = placeholders(settings.text.format)
    except ValueError as exc:
        raise InvalidSettings("settings.text.format", f"malformed format: {exc}") from exc
    unknown = sorted(set(names) - PLACEHOLDERS)
    if unknown:
        allowed = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
        raise InvalidSettings(
            "settings.text.format", f"unknown placeholder {{{unknown[0]}}}; allowed: {allowed}"
        )
    if settings.page > len(page_sizes):
        raise InvalidSettings(
            "settings.page", f"page {settings.page} does not exist (the PDF has {len(page_sizes)})"
        )
    width, height = page_sizes[settings.page - 1]
    qr = settings.qr
    if qr.x + qr.size > width or qr.y + qr.size > height:
        raise InvalidSettings(
            "settings.qr",
            f"the QR square ({qr.x}, {qr.y}, size {qr.size}) is outside the page ({width} x {height})",
        )
    text = settings.text
    if text.x > width:
        raise InvalidSettings("settings.text.x", f"{text.x} is outside the page (width {width})")
    if text.y > height or text.y < text.font_size * 0.7:
        raise InvalidSettings(
            "settings.text.y", f"the label's line at {text.y} is outside the page (height {height})"
        )


def merge(recommended: dict[str, Any], override: dict[str, Any] | None) -> dict[str, Any]:
    """The template's settings with a generation's overrides applied (nested keys replaced one by one)."""
    merged = dict(recommended)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def format_label(label_format: str, label: str, table_id: str) -> str:
    return label_format.format(label=label, table_id=table_id)
