"""Domain exception -> (status, error code): the one table the api answers errors from."""

from __future__ import annotations

from posm.domain.errors import (
    GenerationNotFound,
    GenerationNotReady,
    IdempotencyKeyReused,
    InvalidInput,
    NothingToGenerate,
    PlaceNotFound,
    TableNotInGeneration,
    TableOfAnotherPlace,
    TemplateFileMissing,
    TemplateNotAllowed,
    TemplateNotFound,
    TemplatePageMissing,
)
from quintet_web import ErrorTable

ERRORS = ErrorTable(
    {
        InvalidInput: (400, "validation_error"),
        PlaceNotFound: (404, "place_not_found"),
        TemplateNotFound: (404, "template_not_found"),
        TemplatePageMissing: (404, "template_page_not_found"),
        TemplateFileMissing: (404, "template_file_missing"),
        GenerationNotFound: (404, "generation_not_found"),
        TableNotInGeneration: (404, "table_not_found"),
        GenerationNotReady: (409, "generation_not_ready"),
        TableOfAnotherPlace: (409, "table_of_another_place"),
        TemplateNotAllowed: (422, "template_not_allowed"),
        NothingToGenerate: (422, "nothing_to_generate"),
        IdempotencyKeyReused: (422, "idempotency_key_reused"),
    }
)
