"""Settings every service shares. Each service subclasses this with its own env prefix for its own
settings; the platform ones keep their `QUINTET_` names so one environment configures the stack."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "quintet-dev-secret-do-not-use-in-production"


def _platform(name: str) -> AliasChoices:
    return AliasChoices(f"QUINTET_{name}")


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    env: Literal["dev", "prod"] = Field("dev", validation_alias=_platform("ENV"))
    log_json: bool | None = Field(
        None, validation_alias=_platform("LOG_JSON"), description="JSON logs; default: on outside dev"
    )
    log_level: str = Field("INFO", validation_alias=_platform("LOG_LEVEL"))
    pg_dsn: str = Field("postgresql://postgres@127.0.0.1:5432/quintet", validation_alias=_platform("PG_DSN"))
    pg_pool_max: int = Field(10, ge=1, validation_alias=_platform("PG_POOL_MAX"))
    # Every wait has a timeout (seconds; 0 disables a server-side one). quintet_db.PoolTimeouts.of
    # reads these; a worker's pool (long bulk statements) takes the pg_worker_* ones.
    pg_statement_timeout: float = Field(30.0, ge=0, validation_alias=_platform("PG_STATEMENT_TIMEOUT"))
    pg_lock_timeout: float = Field(5.0, ge=0, validation_alias=_platform("PG_LOCK_TIMEOUT"))
    pg_idle_in_transaction_timeout: float = Field(
        60.0, ge=0, validation_alias=_platform("PG_IDLE_IN_TRANSACTION_TIMEOUT")
    )
    pg_acquire_timeout: float = Field(
        5.0, gt=0, validation_alias=_platform("PG_ACQUIRE_TIMEOUT"), description="wait for a pool connection"
    )
    pg_worker_statement_timeout: float = Field(
        600.0, ge=0, validation_alias=_platform("PG_WORKER_STATEMENT_TIMEOUT")
    )
    pg_worker_lock_timeout: float = Field(60.0, ge=0, validation_alias=_platform("PG_WORKER_LOCK_TIMEOUT"))
    publish_confirm_timeout: float = Field(
        10.0,
        gt=0,
        validation_alias=_platform("PUBLISH_CONFIRM_TIMEOUT"),
        description="publisher confirms (outbox relay, retries); an unconfirmed batch is retried later",
    )
    amqp_url: str = Field("amqp://guest:guest@127.0.0.1:5672/", validation_alias=_platform("AMQP_URL"))
    s3_endpoint: str = Field("http://127.0.0.1:9000", validation_alias=_platform("S3_ENDPOINT"))
    s3_public_endpoint: str | None = Field(
        None, validation_alias=_platform("S3_PUBLIC_ENDPOINT"), description="endpoint in presigned links"
    )
    s3_access_key: str = Field("quintet", validation_alias=_platform("S3_ACCESS_KEY"))
    s3_secret_key: str = Field("quintet-secret", validation_alias=_platform("S3_SECRET_KEY"))
    s3_region: str = Field("us-east-1", validation_alias=_platform("S3_REGION"))
    jwt_secret: str = Field(DEV_JWT_SECRET, min_length=1, validation_alias=_platform("JWT_SECRET"))
    host: str = Field("127.0.0.1", validation_alias=_platform("HOST"))
    # Every service overrides this field with its own default and env name (e.g. SEGMENTS_PORT).
    port: int = Field(8080, description="api port")
    public_url: str | None = Field(
        None,
        validation_alias=_platform("PUBLIC_URL"),
        description="base URL clients use (the gateway); links in responses are built on it",
    )

    @model_validator(mode="after")
    def _no_development_secret_in_production(self) -> PlatformSettings:
        if self.env == "prod" and self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("QUINTET_JWT_SECRET must be set to a real secret when QUINTET_ENV=prod")
        return self

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.env != "dev"
