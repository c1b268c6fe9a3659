"""Settings: the platform's (QUINTET_*) plus this service's own (CONTRACTOR_MENTORSHIP_*)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from quintet_runtime import PlatformSettings
from quintet_s3 import DatasetPolicy, parse_dataset_address

_STAND_INS = "http://127.0.0.1:8090"
_CRM = "s3://crm/mentorship"


class Settings(PlatformSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONTRACTOR_MENTORSHIP_", extra="ignore", populate_by_name=True
    )

    port: int = Field(8083, description="api port")

    # Upstreams: base URLs (clients append their own paths), one timeout and a bounded retry per call.
    driver_profiles_url: str = Field(f"{_STAND_INS}/driver-profiles", description="driver-profiles base URL")
    personal_url: str = Field(f"{_STAND_INS}/personal", description="personal (phones) base URL")
    trackstory_url: str = Field(f"{_STAND_INS}/trackstory", description="trackstory base URL")
    geobase_url: str = Field(f"{_STAND_INS}/geobase", description="geobase base URL")
    fleet_rent_url: str = Field(f"{_STAND_INS}/fleet-rent", description="fleet-rent base URL")
    client_events_url: str = Field(f"{_STAND_INS}/client-events", description="client-events base URL")
    upstream_timeout_seconds: float = Field(2.0, gt=0, le=60, description="timeout of one upstream call")
    upstream_attempts: int = Field(2, ge=1, le=5, description="tries per upstream call (5xx, timeout)")
    upstream_retry_delay_seconds: float = Field(0.1, ge=0, le=10, description="pause before a retry")

    # The CRM's tables (datasets in S3).
    new_drivers_url: str = Field(f"{_CRM}/new_drivers/", description="requests we write (part files)")
    distribution_url: str = Field(f"{_CRM}/distribution/", description="the CRM's matchings")
    results_to_send_url: str = Field(f"{_CRM}/results_to_send/", description="the CRM's progress figures")
    finished_promocodes_url: str = Field(
        f"{_CRM}/finished_promocodes/", description="one dataset per day under it: <prefix><YYYY-MM-DD>/"
    )
    archive_url: str = Field(f"{_CRM}/archive/", description="archived matchings (Parquet, by month)")
    dataset_max_parts: int = Field(100_000, ge=1, description="parts one CRM dataset may have")
    dataset_max_bytes: int = Field(10 * 1024**3, ge=1, description="bytes one CRM dataset may hold")

    # Time thresholds of the programme.
    offer_days: int = Field(30, ge=1, le=3650, description="the offer is shown this long after hiring")
    progress_days: int = Field(7, ge=0, le=365, description="participation before the 7-day progress")
    final_days: int = Field(14, ge=0, le=365, description="participation before the final progress")
    fail_after_days: int = Field(14, ge=0, le=365, description="finished without promocode after it: failed")
    archive_after_days: int = Field(90, ge=0, le=3650, description="completed matchings kept this long")

    # Periodic jobs.
    import_matchings_period_seconds: float = Field(300, gt=0, description="import-matchings period")
    import_progress_period_seconds: float = Field(3600, gt=0, description="import-progress period")
    import_finished_period_seconds: float = Field(86400, gt=0, description="import-finished period")
    archive_period_seconds: float = Field(86400, gt=0, description="archive period")
    # 5,000: an import of 100,000 rows took 12.0-12.6 s in chunks of 1,000 and 7.5-8.8 s in chunks of
    # 5,000 (per-chunk round trips to driver-profiles, PostgreSQL and client-events).
    import_batch_size: int = Field(5000, ge=1, le=10000, description="rows per bulk step of an import")

    max_attempts: int = Field(5, ge=1, le=20, description="crm-request attempts before it is parked")
    retry_delays_seconds: tuple[float, ...] = Field(
        (1.0, 10.0, 60.0), min_length=1, description="wait before the 2nd, 3rd, ... attempt of a task"
    )

    contacts_upstream_calls: Literal["bulk", "one_by_one"] = Field(
        "bulk", description="one_by_one: every upstream call of contacts in turn (the bench baseline)"
    )


def crm_buckets(settings: Settings) -> list[str]:
    """The buckets of the CRM's datasets (created at startup when missing)."""
    urls = (
        settings.new_drivers_url,
        settings.distribution_url,
        settings.results_to_send_url,
        settings.finished_promocodes_url,
        settings.archive_url,
    )
    return sorted({parse_dataset_address(url).bucket for url in urls})


def crm_policy(settings: Settings) -> DatasetPolicy:
    """What the imports may read: the CRM's datasets at their configured addresses, bounded."""
    addresses = (settings.distribution_url, settings.results_to_send_url, settings.finished_promocodes_url)
    allowed = tuple(sorted({f"{a.bucket}/{a.key}" for a in map(parse_dataset_address, addresses)}))
    return DatasetPolicy(allowed, max_parts=settings.dataset_max_parts, max_bytes=settings.dataset_max_bytes)
