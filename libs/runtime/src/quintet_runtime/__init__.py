"""What every Quintet process needs before it does anything: settings, logging, request ids."""

from quintet_runtime.logs import bind_request_id, configure_logging, current_request_id, new_request_id
from quintet_runtime.settings import DEV_JWT_SECRET, PlatformSettings

__all__ = [
    "DEV_JWT_SECRET",
    "PlatformSettings",
    "bind_request_id",
    "configure_logging",
    "current_request_id",
    "new_request_id",
]
