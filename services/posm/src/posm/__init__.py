"""posm: QR table-tent generation from PDF templates."""

from quintet_service import ServiceDeclaration

SERVICE = ServiceDeclaration(
    name="posm",
    package="posm",
    schema="posm",
    settings="posm.settings:Settings",
    routes="posm.api.routes:routes",
    errors="posm.errors:ERRORS",
    worker="posm.worker:build_worker",
    # Templates are uploaded by the api and read by the worker; POSMs the other way round.
    buckets=("bucket",),
)
