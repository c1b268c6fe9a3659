"""Settings: the platform's (QUINTET_*) plus this service's own (VRS_IMPORT_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from quintet_runtime import PlatformSettings


class Settings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="VRS_IMPORT_", extra="ignore", populate_by_name=True)

    port: int = Field(8084, description="api port")
    solver_url: str = Field(
        "http://127.0.0.1:8090", description="routing solver base URL; the client appends /vrs/api/v1/..."
    )
    solver_timeout_s: float = Field(10.0, gt=0, le=300, description="timeout of one solver request")
    solver_attempts: int = Field(
        3, ge=1, le=10, description="solver requests per call (retries on network errors and 5xx)"
    )
    max_orders: int = Field(50_000, ge=1, description="most orders one import may carry")
    max_attempts: int = Field(5, ge=1, description="import task attempts before it is parked")
