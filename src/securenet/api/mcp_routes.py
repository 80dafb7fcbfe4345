"""The MCP gateway inside `securenet serve`: /mcp/NAME for every configured upstream, per tenant.

Each MCP request authenticates with the tenant's API key like every other route; the
tenant's policy, pins and withheld tools then apply to what passes through.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from securenet.api.deps import AppState, _authenticate, _presented_key
from securenet.api.problems import Problem
from securenet.mcp.gateway import GatewayServer, UpstreamConnection, UpstreamSpec, open_upstreams
from securenet.mcp.inspector import Verdict
from securenet.orchestrator import SecurityRequest

__all__ = ["McpGateway"]

TENANT_KEY = "securenet_tenant"


class _Authenticated:
    """ASGI wrapper: a valid API key or 401, before the MCP transport sees the request."""

    def __init__(self, app: ASGIApp, state: Callable[[], AppState]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        request = Request(scope)
        secret = _presented_key(request)
        tenant = None if secret is None else await run_in_threadpool(_authenticate, self.state(), secret)
        if tenant is None:
            response = Problem(
                401,
                "Unauthorized",
                "A valid API key is required.",
                headers={"WWW-Authenticate": 'Bearer realm="securenet"'},
            ).response(scope.get("path"))
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[TENANT_KEY] = tenant.id
        await self.app(scope, receive, send)


class McpGateway:
    """Upstream connections, one SDK server and session manager per upstream, and their routes."""

    def __init__(self, specs: list[UpstreamSpec], state: Callable[[], AppState], allowed_hosts: list[str]) -> None:
        self.state = state
        self.connections = [UpstreamConnection(spec) for spec in specs]
        catalog: dict[str, set[str]] = {}
        self.servers = {
            c.spec.name: GatewayServer(c, self.analyze, catalog=catalog, tenant_of=_tenant_of) for c in self.connections
        }
        security = TransportSecuritySettings(
            allowed_hosts=allowed_hosts, allowed_origins=[f"http://{h}" for h in allowed_hosts]
        )
        self.managers = {
            name: StreamableHTTPSessionManager(app=server, security_settings=security)
            for name, server in self.servers.items()
        }

    def routes(self) -> list[Route]:
        return [
            Route(f"/mcp/{name}", endpoint=_Authenticated(StreamableHTTPASGIApp(manager), self.state))
            for name, manager in self.managers.items()
        ]

    def analyze(
        self,
        tenant_id: str,
        message: dict[str, Any],
        upstream: str,
        session_id: str | None,
        tool: str | None,
        blocked_tools: Mapping[str, str],
        other_tools: Mapping[str, str],
    ) -> tuple[Verdict, str | None]:
        return self.state().orchestrator.analyze(
            SecurityRequest(
                tenant_id=tenant_id,
                message=message,
                upstream=upstream,
                session_id=None if session_id is None else f"{tenant_id}:{session_id}",
                tool=tool,
                blocked_tools=blocked_tools,
                other_tools=other_tools,
            )
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with open_upstreams(self.connections), contextlib.AsyncExitStack() as stack:
            for manager in self.managers.values():
                await stack.enter_async_context(manager.run())
            yield


def _tenant_of(ctx: Any) -> str:
    request = ctx.request
    tenant = None if request is None else request.scope.get("state", {}).get(TENANT_KEY)
    if not isinstance(tenant, str):
        raise RuntimeError("an MCP request reached the gateway without an authenticated tenant")
    return tenant
