"""The service's exceptions: their text is what a client reads; `details` names the field."""

from __future__ import annotations

from typing import Any


class PosmError(Exception):
    details: Any = None


class InvalidInput(PosmError):
    """Bad input the models could not catch alone (a rule across fields, a file): 400."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.details = [{"field": field, "message": message, "type": "rule"}]


class InvalidSettings(InvalidInput):
    """Template settings that do not fit the template (a missing page, a box outside it, ...)."""


class InvalidTemplateFile(InvalidInput):
    """An upload that is not a readable PDF, or too large."""


class PlaceNotFound(PosmError):
    def __init__(self, place_id: object) -> None:
        super().__init__(f"place {place_id} not found")


class TemplateNotFound(PosmError):
    def __init__(self, template_id: int) -> None:
        super().__init__(f"template {template_id} not found")


class TemplatePageMissing(PosmError):
    def __init__(self, template_id: int, page: int) -> None:
        super().__init__(f"template {template_id} has no page {page} to show")


class TemplateFileMissing(PosmError):
    def __init__(self, template_id: int) -> None:
        super().__init__(f"the PDF of template {template_id} is missing from storage")


class GenerationNotFound(PosmError):
    def __init__(self, generation_id: int) -> None:
        super().__init__(f"generation {generation_id} not found")


class TableNotInGeneration(PosmError):
    def __init__(self, table_id: object) -> None:
        super().__init__(f"table {table_id} is not part of this generation")


class GenerationNotReady(PosmError):
    def __init__(self, status: str) -> None:
        super().__init__(f"the generation is {status}, not done")
        self.details = {"status": status}


class TemplateNotAllowed(PosmError):
    """A template this place may not use (deleted, or visible to other places only): 422."""

    def __init__(self, template_id: int) -> None:
        super().__init__(f"template {template_id} is not available to this place")


class NothingToGenerate(PosmError):
    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


class IdempotencyKeyReused(PosmError):
    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with another request body")


class TableOfAnotherPlace(PosmError):
    def __init__(self, table_ids: list[str]) -> None:
        super().__init__("some tables belong to another place")
        self.details = {"table_ids": table_ids}


class RenderFailed(PosmError):
    """A generation that cannot be rendered; the text is stored as its comment (safe for clients)."""
