"""Dependencies every route goes through: the process's services, the tenant, the admin key.

``CurrentTenant`` authenticates ``Authorization: Bearer <key>`` or ``X-API-Key`` (see
:mod:`securenet.api.auth`, shared with the MCP routes) and scopes the request: handlers
query only with ``tenant.id``, so another tenant's objects answer 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from securenet.api.auth import TenantContext, authenticate, check_admin_key
from securenet.runtime import Services

if TYPE_CHECKING:
    from securenet.mcp.gateway import GatewayServer

__all__ = ["AdminKey", "CurrentTenant", "State", "TenantContext", "mcp_servers"]


def get_services(request: Request) -> Services:
    """The services the app's lifespan built (:class:`securenet.runtime.Services`)."""
    services: Services = request.app.state.securenet
    return services


State = Annotated[Services, Depends(get_services)]


async def current_tenant(request: Request, state: State) -> TenantContext:
    return await authenticate(request, state)


CurrentTenant = Annotated[TenantContext, Depends(current_tenant)]


async def require_admin(request: Request, state: State) -> None:
    check_admin_key(request, state)


AdminKey = Annotated[None, Depends(require_admin)]


def mcp_servers(request: Request) -> Mapping[str, GatewayServer]:
    """The app's MCP gateway servers by upstream name (none unless upstreams are configured)."""
    servers: Mapping[str, GatewayServer] = request.app.state.mcp_servers
    return servers
