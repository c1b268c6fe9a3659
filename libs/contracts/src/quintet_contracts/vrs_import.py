"""Events published by the vrs-import service."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from quintet_contracts.envelope import register_event


class ImportedRoute(BaseModel):
    id: int = Field(gt=0, description="the route's id in vrs-import")
    number: str = Field(description="the route's number, suffixed when the import renamed it")


class ImportedOrders(BaseModel):
    created: int = Field(ge=0, description="orders created (under their own number or a renamed one)")
    renamed: int = Field(ge=0, description="of the created, how many got a suffix (rename_new)")
    moved: int = Field(ge=0, description="existing orders updated and moved onto a new route")


class ImportFinished(BaseModel):
    import_id: UUID
    company_id: int = Field(gt=0)
    status: Literal["completed", "error", "internal_error"]
    message: str = Field(description="what happened, e.g. the conflicting numbers of a failed import")
    routes: list[ImportedRoute] = Field(
        description="the routes created, in the solver's order (empty unless completed)"
    )
    orders: ImportedOrders


IMPORT_FINISHED = register_event(
    "vrs-import.import-finished",
    ImportFinished,
    "An import of a routing-solver solution finished: completed (all routes and orders written), "
    "error (a conflict its modes do not allow; nothing written) or internal_error.",
)
