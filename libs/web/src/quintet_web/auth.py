"""JWT bearer auth (HS256). Every service verifies tokens itself; the gateway only routes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

import jwt

from quintet_web.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Principal:
    sub: str
    scopes: frozenset[str]
    expires_at: int
    companies: tuple[int, ...] = ()
    park_id: str | None = None
    driver_id: str | None = None
    claims: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"token lacks scope {scope!r}", code="missing_scope", details={"scope": scope})


def mint_token(
    secret: str,
    *,
    sub: str,
    scope: str,
    ttl_seconds: int = 24 * 3600,
    companies: list[int] | None = None,
    park_id: str | None = None,
    driver_id: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "scope": scope, "iat": now, "exp": now + ttl_seconds}
    if companies:
        claims["companies"] = companies
    if park_id:
        claims["park_id"] = park_id
    if driver_id:
        claims["driver_id"] = driver_id
    return jwt.encode(claims, secret, algorithm="HS256")


MAX_SUB_LENGTH = 256


@lru_cache(maxsize=4096)
def _decode(token: str, secret: str) -> Principal:
    # Cached: a hot client reuses its token, and HS256 verification is the costliest step of a
    # cheap GET. Expiry is re-checked on every call by `authenticate`.
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired", code="token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}", code="invalid_token") from exc
    # PyJWT accepts a numeric string as `exp`; a mistyped claim is a malformed token here.
    if not isinstance(claims["exp"], int) or isinstance(claims["exp"], bool):
        raise Unauthorized("invalid token: exp must be an integer (seconds)", code="invalid_token")
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB_LENGTH or "\x00" in sub:
        raise Unauthorized(
            f"invalid token: sub must be a string of 1-{MAX_SUB_LENGTH} characters", code="invalid_token"
        )
    scope = claims.get("scope", "")
    companies = claims.get("companies") or []
    if not isinstance(scope, str):
        raise Unauthorized("invalid token: the scope claim must be a string", code="invalid_token")
    if not isinstance(companies, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) for c in companies
    ):
        raise Unauthorized("invalid token: companies must be a list of integers", code="invalid_token")
    for name in ("park_id", "driver_id"):
        if not isinstance(claims.get(name, ""), str):
            raise Unauthorized(f"invalid token: {name} must be a string", code="invalid_token")
    return Principal(
        sub=sub,
        scopes=frozenset(scope.split()),
        expires_at=int(claims["exp"]),
        companies=tuple(companies),
        park_id=claims.get("park_id"),
        driver_id=claims.get("driver_id"),
        claims=claims,
    )


def authenticate(authorization: str | None, secret: str) -> Principal:
    if not authorization:
        raise Unauthorized("missing Authorization header", code="missing_token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <token>'", code="invalid_token")
    if not token.isascii():  # a JWT is base64url and dots; other bytes would break the decoder
        raise Unauthorized("invalid token: not a JWT (non-ASCII characters)", code="invalid_token")
    principal = _decode(token.strip(), secret)
    if principal.expires_at <= time.time():
        raise Unauthorized("token expired", code="token_expired")
    return principal
