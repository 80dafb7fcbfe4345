"""Dependencies every route goes through: the process's services, the tenant, the admin key, limits.

``CurrentTenant`` authenticates ``Authorization: Bearer <key>`` or ``X-API-Key`` and
scopes the request: handlers query only with ``tenant.id``, so another tenant's
objects answer 404. Failures are logged as security events, without the key.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import structlog
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from securenet.api.problems import Problem
from securenet.runtime import Services
from securenet.store.tenants import authenticate, hash_key
from securenet.telemetry import set_current_span_attribute

if TYPE_CHECKING:
    from securenet.mcp.gateway import GatewayServer

__all__ = ["AdminKey", "CurrentTenant", "State", "TenantContext", "mcp_servers"]

security_log = structlog.get_logger("securenet.security")


def get_services(request: Request) -> Services:
    """The services the app's lifespan built (:class:`securenet.runtime.Services`)."""
    services: Services = request.app.state.securenet
    return services


State = Annotated[Services, Depends(get_services)]


def mcp_servers(request: Request) -> Mapping[str, GatewayServer]:
    """The app's MCP gateway servers by upstream name (none unless upstreams are configured)."""
    servers: Mapping[str, GatewayServer] = request.app.state.mcp_servers
    return servers


@dataclass(frozen=True)
class TenantContext:
    id: str
    name: str
    key_prefix: str
    rate_limit_per_minute: int | None


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


def _unauthorized(request: Request, reason: str) -> Problem:
    security_log.warning(
        "security.auth_failed",
        reason=reason,
        path=request.url.path,
        method=request.method,
    )
    return Problem(
        401,
        "Unauthorized",
        "A valid API key is required (Authorization: Bearer <key> or X-API-Key).",
        headers={"WWW-Authenticate": 'Bearer realm="securenet"'},
    )


def _authenticate(state: Services, secret: str) -> TenantContext | None:
    with state.db.session() as session:
        found = authenticate(session, secret)
        if found is None:
            return None
        tenant, key = found
        return TenantContext(tenant.id, tenant.name, key.prefix, tenant.rate_limit_per_minute)


async def current_tenant(request: Request, state: State) -> TenantContext:
    secret = _presented_key(request)
    if secret is None:
        raise _unauthorized(request, "missing_key")
    tenant = await run_in_threadpool(_authenticate, state, secret)
    if tenant is None:
        raise _unauthorized(request, "unknown_or_revoked_key")
    set_current_span_attribute("tenant.id", tenant.id)
    await enforce_rate_limit(state, tenant)
    return tenant


async def enforce_rate_limit(state: Services, tenant: TenantContext) -> None:
    """Count one request against the tenant's per-minute limit; :class:`Problem` 429 past it."""
    limit = tenant.rate_limit_per_minute or state.settings.rate_limit_per_minute
    allowed, retry_after = await run_in_threadpool(state.limiter.hit, tenant.id, limit)
    if not allowed:
        security_log.info("security.rate_limited", tenant_id=tenant.id, limit_per_minute=limit)
        raise Problem(
            429,
            "Too many requests",
            f"The tenant's limit is {limit} requests per minute.",
            headers={"Retry-After": str(max(1, int(retry_after + 0.999)))},
        )


CurrentTenant = Annotated[TenantContext, Depends(current_tenant)]


async def require_admin(request: Request, state: State) -> None:
    configured = state.settings.admin_key
    secret = _presented_key(request)
    if configured is None or secret is None:
        raise _unauthorized(request, "missing_admin_key")
    # Compare digests in constant time: the timing says nothing about the key.
    if not hmac.compare_digest(hash_key(secret), hash_key(configured.get_secret_value())):
        raise _unauthorized(request, "wrong_admin_key")


AdminKey = Annotated[None, Depends(require_admin)]
