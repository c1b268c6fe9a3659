"""personal-goals: admin upload of personal goals from datasets, selections, goal reads."""

from quintet_service import ServiceDeclaration

SERVICE = ServiceDeclaration(
    name="personal-goals",
    package="personal_goals",
    schema="personal_goals",
    settings="personal_goals.settings:Settings",
    routes="personal_goals.api.routes:routes",
    errors="personal_goals.errors:ERRORS",
    worker="personal_goals.worker:build_worker",
    buckets=("dataset_bucket",),
    # Two connections per running upload slice (the inbox transaction and the chunk transaction).
    worker_min_pool=10,
)
