"""vrs-import: asynchronous import of a routing-solver solution into a company's routes and orders."""

from quintet_service import ServiceDeclaration

SERVICE = ServiceDeclaration(
    name="vrs-import",
    package="vrs_import",
    schema="vrs_import",
    settings="vrs_import.settings:Settings",
    routes="vrs_import.api.routes:routes",
    errors="vrs_import.errors:ERRORS",
    worker="vrs_import.worker:build_worker",
)
