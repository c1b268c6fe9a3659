"""Settings: the platform's (QUINTET_*) plus this service's own (SEGMENTS_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from quintet_runtime import PlatformSettings


class Settings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="SEGMENTS_", extra="ignore", populate_by_name=True)

    port: int = Field(8081, description="api port")
    reports_bucket: str = Field("segments-reports", description="S3 bucket for history reports")
    ttl_sweep_seconds: float = Field(5.0, gt=0, description="period of the TTL expiry job")
    max_attempts: int = Field(5, ge=1, description="task attempts before a message is parked")
    rollout_batch_users: int = Field(
        20_000, ge=1, description="users per batch (one short transaction) when a rollout grows"
    )
    rollout_pause_ratio: float = Field(
        0.5,
        ge=0,
        le=10,
        description="after each growth batch, pause this many times the batch's duration (0: none):"
        " reads keep their latency while a rollout grows",
    )
    rollout_resume_seconds: float = Field(
        10.0, gt=0, description="period of the job finishing rollout growths an api left half done"
    )
