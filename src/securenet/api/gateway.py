"""The standalone MCP gateway app (`securenet mcp-gateway`): one `/mcp/NAME` per upstream.

Built by the same :func:`~securenet.api.app.build_app` as `securenet serve`, on the same
services, middleware and operations routes. It differs in two ways: every MCP request
belongs to one tenant (``default`` unless told otherwise) and needs no API key, and there
are no `/v1` routes. The policy file (``policy_file``, else ``SECURENET_MCP_POLICY_FILE``)
is reloaded when it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from fastapi import FastAPI

from securenet.api.app import build_app
from securenet.api.mcp_routes import McpGateway
from securenet.config import Settings
from securenet.mcp.gateway import UpstreamSpec
from securenet.runtime import Services
from securenet.store import tenants
from securenet.store.database import Database

__all__ = ["create_gateway_app", "ensure_tenant"]


def ensure_tenant(db: Database, tenant_id: str) -> None:
    with db.session() as session:
        tenants.ensure_tenant(session, tenant_id)


def create_gateway_app(
    settings: Settings,
    upstreams: Sequence[UpstreamSpec],
    *,
    policy_file: Path | None = None,
    tenant_id: str = "default",
    upstream_cwd: str | None = None,
    upstream_env: Mapping[str, str] | None = None,
    allowed_hosts: Sequence[str] = ("127.0.0.1:*", "localhost:*", "[::1]:*"),
) -> FastAPI:
    if policy_file is not None:
        settings = settings.model_copy(update={"mcp_policy_file": policy_file.expanduser().resolve()})
    gateway = McpGateway(
        settings,
        upstreams,
        allowed_hosts,
        tenant_id=tenant_id,
        upstream_cwd=upstream_cwd,
        upstream_env=upstream_env,
    )

    def prepare(services: Services) -> None:
        ensure_tenant(services.db, tenant_id)

    return build_app(
        settings,
        title="SecureNet MCP gateway",
        description=f"The MCP security gateway for tenant {tenant_id!r}: one /mcp/NAME per upstream. "
        "Errors are RFC 9457 problem documents; every response names its trace in `traceresponse` "
        "and `X-Trace-Id`.",
        rest_api=False,
        gateway=gateway,
        prepare=prepare,
    )
