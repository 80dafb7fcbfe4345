"""Authentication, written once: the REST routes and the MCP routes both call :func:`authenticate`.

A tenant's API key comes as ``Authorization: Bearer <key>`` or ``X-API-Key``. A missing,
unknown or revoked key answers 401 and is logged as ``security.auth_failed`` with the reason,
the path and the method, never the key. An authenticated request then counts against its
tenant's per-minute limit (429 past it). The admin key is checked the same way by
:func:`check_admin_key`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from securenet.api.problems import Problem
from securenet.runtime import Services
from securenet.store.database import Database
from securenet.store.tenants import authenticate as authenticate_key
from securenet.store.tenants import hash_key
from securenet.telemetry import set_current_span_attribute

__all__ = ["TenantContext", "authenticate", "check_admin_key", "presented_key"]

security_log = structlog.get_logger("securenet.security")


@dataclass(frozen=True)
class TenantContext:
    """The authenticated tenant of a request; handlers scope every query by ``id``."""

    id: str
    name: str
    key_prefix: str
    rate_limit_per_minute: int | None


def presented_key(request: Request) -> str | None:
    """The key of ``Authorization: Bearer <key>``, else of ``X-API-Key``, else None."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


def _unauthorized(request: Request, reason: str) -> Problem:
    """Log the failed attempt (what and where, no key material) and return the 401 to raise."""
    security_log.warning("security.auth_failed", reason=reason, path=request.url.path, method=request.method)
    return Problem(
        401,
        "Unauthorized",
        "A valid API key is required (Authorization: Bearer <key> or X-API-Key).",
        headers={"WWW-Authenticate": 'Bearer realm="securenet"'},
    )


def _tenant_of_key(db: Database, secret: str) -> TenantContext | None:
    with db.session() as session:
        found = authenticate_key(session, secret)
        if found is None:
            return None
        tenant, key = found
        return TenantContext(tenant.id, tenant.name, key.prefix, tenant.rate_limit_per_minute)


async def authenticate(request: Request, services: Services) -> TenantContext:
    """The tenant whose API key the request presents, within its rate limit.

    Raises :class:`Problem` 401 (logged) without a valid key, 429 past the tenant's limit.
    """
    secret = presented_key(request)
    if secret is None:
        raise _unauthorized(request, "missing_key")
    tenant = await run_in_threadpool(_tenant_of_key, services.db, secret)
    if tenant is None:
        raise _unauthorized(request, "unknown_or_revoked_key")
    set_current_span_attribute("tenant.id", tenant.id)
    await _enforce_rate_limit(services, tenant)
    return tenant


async def _enforce_rate_limit(services: Services, tenant: TenantContext) -> None:
    """Count one request against the tenant's per-minute limit; :class:`Problem` 429 past it."""
    limit = tenant.rate_limit_per_minute or services.settings.rate_limit_per_minute
    allowed, retry_after = await run_in_threadpool(services.limiter.hit, tenant.id, limit)
    if not allowed:
        security_log.info("security.rate_limited", tenant_id=tenant.id, limit_per_minute=limit)
        raise Problem(
            429,
            "Too many requests",
            f"The tenant's limit is {limit} requests per minute.",
            headers={"Retry-After": str(max(1, int(retry_after + 0.999)))},
        )


def check_admin_key(request: Request, services: Services) -> None:
    """Return if the request presents the configured admin key; else :class:`Problem` 401 (logged)."""
    configured = services.settings.admin_key
    secret = presented_key(request)
    if configured is None or secret is None:
        raise _unauthorized(request, "missing_admin_key")
    # Compare digests in constant time: the timing says nothing about the key.
    if not hmac.compare_digest(hash_key(secret), hash_key(configured.get_secret_value())):
        raise _unauthorized(request, "wrong_admin_key")
