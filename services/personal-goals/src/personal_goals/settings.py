"""Settings: the platform's (QUINTET_*) plus this service's own (PERSONAL_GOALS_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from quintet_runtime import PlatformSettings
from quintet_s3 import DatasetPolicy


class Settings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="PERSONAL_GOALS_", extra="ignore", populate_by_name=True)

    port: int = Field(8082, description="api port")
    chunk_size: int = Field(10_000, ge=1, description="dataset rows committed per upload transaction")
    slice_seconds: float = Field(
        10.0, gt=0, description="an upload task works this long, then re-schedules itself"
    )
    skipped_goals_limit: int = Field(
        1000, ge=1, description="most skipped goals listed in one upload status answer"
    )
    max_attempts: int = Field(5, ge=1, description="task attempts before a message is parked")
    dataset_bucket: str = Field(
        "goals-datasets", description="the service's own dataset bucket (created at startup, always readable)"
    )
    dataset_allowed: list[str] = Field(
        default_factory=list,
        description="more buckets or bucket/prefix/ entries datasets may be read from (JSON list)",
    )
    dataset_max_parts: int = Field(1000, ge=1, description="most part files of one dataset")
    dataset_max_bytes: int = Field(10 * 1024**3, ge=1, description="most bytes of one dataset (all parts)")

    def dataset_policy(self) -> DatasetPolicy:
        return DatasetPolicy(
            allowed=(self.dataset_bucket, *self.dataset_allowed),
            max_parts=self.dataset_max_parts,
            max_bytes=self.dataset_max_bytes,
        )
