"""Settings: the platform's (QUINTET_*) plus this service's own (POSM_*)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from quintet_runtime import PlatformSettings


class Settings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="POSM_", extra="ignore", populate_by_name=True)

    port: int = Field(8085, description="api port")
    bucket: str = Field("posm", description="S3 bucket: templates/ and the rendered posm/ objects")
    qr_url_template: str = Field(
        "https://check.example/t/{table_id}", description="what a table's QR encodes; {table_id} is its uuid"
    )
    max_concurrent_generations: int = Field(
        4, ge=1, description="scheduled + in-progress generations at most"
    )
    max_attempts: int = Field(3, ge=1, description="attempts of a generation before it is set to error")
    scheduler_period_seconds: float = Field(60.0, gt=0, description="period of the generation scheduler")
    retention_period_seconds: float = Field(3600.0, gt=0, description="period of the retention job")
    keep_generations: int = Field(10, ge=1, description="N: generations kept per (place, template)")
    keep_days: float = Field(30.0, gt=0, description="K: days a generation is kept (but the last done one)")
    max_template_bytes: int = Field(20 * 1024 * 1024, ge=1, description="largest template PDF accepted")
    render_slice: int = Field(500, ge=1, description="tables rendered per delivery of posm-requested")
    render_processes: int = Field(0, ge=0, description="rendering processes (0: one per CPU)")
    upload_concurrency: int = Field(32, ge=1, le=256, description="parallel S3 uploads of a generation")

    @field_validator("qr_url_template")
    @classmethod
    def _has_table_id(cls, value: str) -> str:
        if "{table_id}" not in value:
            raise ValueError("must contain {table_id}")
        value.format(table_id="00000000-0000-0000-0000-000000000000")
        return value
