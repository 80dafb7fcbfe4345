"""The MCP gateway's HTTP face: /mcp/NAME for every configured upstream.

Inside `securenet serve` each MCP request authenticates with a tenant's API key like every
other route, and that tenant's policy, pins and withheld tools apply. The standalone
`securenet mcp-gateway` serves one tenant and needs no key.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from securenet.api.auth import authenticate
from securenet.api.problems import Problem
from securenet.config import Settings
from securenet.mcp.gateway import GatewayServer, UpstreamConnection, UpstreamSpec, supervise_upstreams
from securenet.mcp.inspector import Verdict
from securenet.orchestrator import SecurityRequest
from securenet.runtime import Services

__all__ = ["McpGateway"]

TENANT_KEY = "securenet_tenant"


class _Authenticated:
    """ASGI wrapper: a valid API key (else 401) within its tenant's rate limit (else 429),
    before the MCP transport sees the request. The same :func:`authenticate` as the REST routes."""

    def __init__(self, app: ASGIApp, services: Callable[[], Services]) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            tenant = await authenticate(Request(scope), self.services())
        except Problem as problem:
            await problem.response(scope.get("path"))(scope, receive, send)
            return
        scope.setdefault("state", {})[TENANT_KEY] = tenant.id
        await self.app(scope, receive, send)


class McpGateway:
    """Upstream connections, one SDK server and session manager per upstream, and their routes.

    With ``tenant_id`` every request belongs to that tenant (the standalone gateway);
    without it each request authenticates with a tenant's API key (inside ``serve``).
    The process's services are bound by :meth:`running`, for as long as it runs.
    """

    def __init__(
        self,
        settings: Settings,
        specs: Sequence[UpstreamSpec],
        allowed_hosts: Sequence[str],
        *,
        tenant_id: str | None = None,
        upstream_cwd: str | None = None,
        upstream_env: Mapping[str, str] | None = None,
    ) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"upstream names must be unique, got {names}")
        self._services: Services | None = None
        self.tenant_id = tenant_id
        self.connections = [
            UpstreamConnection(
                spec,
                cwd=upstream_cwd,
                env=upstream_env,
                connect_timeout=settings.mcp_upstream_connect_timeout,
                ping_interval=settings.mcp_upstream_ping_interval,
                backoff_max=settings.mcp_upstream_backoff_max,
            )
            for spec in specs
        ]
        catalog: dict[str, set[str]] = {}
        tenant_of = _tenant_of if tenant_id is None else (lambda ctx: tenant_id)
        self.servers = {
            c.spec.name: GatewayServer(c, self, catalog=catalog, tenant_of=tenant_of) for c in self.connections
        }
        # DNS-rebinding protection: only the configured Host headers are served.
        security = TransportSecuritySettings(
            allowed_hosts=list(allowed_hosts), allowed_origins=[f"http://{h}" for h in allowed_hosts]
        )
        # JSON responses instead of SSE streams: the gateway sends no request-scoped messages
        # (list_changed goes out on the session's GET stream, 2026-07-28 listens are SSE either
        # way), and a JSON body is cheaper to write and lets SDK clients keep their connection,
        # where they drop it after every SSE answer. See docs/notes/mcp-sdk.md, section 9.
        self.managers = {
            name: StreamableHTTPSessionManager(app=server, security_settings=security, json_response=True)
            for name, server in self.servers.items()
        }

    def routes(self) -> list[Route]:
        routes = []
        for name, manager in self.managers.items():
            endpoint: ASGIApp = StreamableHTTPASGIApp(manager)
            if self.tenant_id is None:
                endpoint = _Authenticated(endpoint, lambda: self.services)
            routes.append(Route(f"/mcp/{name}", endpoint=endpoint))
        return routes

    def analyze(self, request: SecurityRequest) -> tuple[Verdict, str | None]:
        """The gateway's Judge: the orchestrator of the services it runs on."""
        return self.services.orchestrator.analyze(request)

    def upstreams(self) -> dict[str, dict[str, Any]]:
        """Each upstream's state: up, down or reconnecting, since when, and the last error."""
        return {c.spec.name: c.snapshot() for c in self.connections}

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the MCP gateway is not running")
        return self._services

    @contextlib.asynccontextmanager
    async def running(self, services: Services) -> AsyncIterator[None]:
        """Serve on ``services``: upstreams supervised, one session manager per upstream."""
        self._services = services
        async with supervise_upstreams(self.connections), contextlib.AsyncExitStack() as stack:
            for manager in self.managers.values():
                await stack.enter_async_context(manager.run())
            yield


def _tenant_of(ctx: Any) -> str:
    request = ctx.request
    tenant = None if request is None else request.scope.get("state", {}).get(TENANT_KEY)
    if not isinstance(tenant, str):
        raise RuntimeError("an MCP request reached the gateway without an authenticated tenant")
    return tenant
