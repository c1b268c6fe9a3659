"""The HTTP edge every Quintet api shares."""

from quintet_web.app import ReadinessCheck, create_base_app, run_app
from quintet_web.auth import Principal, mint_token
from quintet_web.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ErrorMapping,
    ErrorTable,
    Forbidden,
    NotFound,
    Unauthorized,
)
from quintet_web.routes import RouteTable, absolute_url

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "ErrorMapping",
    "ErrorTable",
    "Forbidden",
    "NotFound",
    "Principal",
    "ReadinessCheck",
    "RouteTable",
    "Unauthorized",
    "absolute_url",
    "create_base_app",
    "mint_token",
    "run_app",
]
