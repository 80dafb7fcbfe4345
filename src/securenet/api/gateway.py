"""The standalone MCP gateway app (`securenet mcp-gateway`): one `/mcp/NAME` per upstream.

It runs on the same orchestrator, store and telemetry as the service, for one tenant
(``default`` unless told otherwise), with the policy from a file that is reloaded when
it changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from securenet.api.metrics import MetricsRoute, RequestMetricsMiddleware
from securenet.config import Settings
from securenet.mcp.gateway import GatewayServer, UpstreamConnection, UpstreamSpec, open_upstreams
from securenet.mcp.inspector import Verdict
from securenet.orchestrator import ModelRegistry, PolicyProvider, SecurityOrchestrator, SecurityRequest
from securenet.store.database import Database
from securenet.store.schema import Tenant
from securenet.telemetry import (
    configure_logging,
    fastapi_telemetry_options,
    package_version,
    setup_telemetry,
    shutdown_telemetry,
)

__all__ = ["GatewayRuntime", "create_gateway_app", "ensure_tenant"]


def ensure_tenant(db: Database, tenant_id: str) -> None:
    with db.session() as session:
        if session.get(Tenant, tenant_id) is None:
            session.add(Tenant(id=tenant_id, name=tenant_id))


class GatewayRuntime:
    """The orchestrator behind the gateway's servers, created in the app's lifespan."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.orchestrator: SecurityOrchestrator | None = None

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
        if self.orchestrator is None:
            raise RuntimeError("the gateway is not started")
        return self.orchestrator.analyze(
            SecurityRequest(
                tenant_id=tenant_id,
                message=message,
                upstream=upstream,
                session_id=session_id,
                tool=tool,
                blocked_tools=blocked_tools,
                other_tools=other_tools,
            )
        )


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
    names = [spec.name for spec in upstreams]
    if len(set(names)) != len(names):
        raise ValueError(f"upstream names must be unique, got {names}")
    runtime = GatewayRuntime(tenant_id)
    connections = [UpstreamConnection(spec, cwd=upstream_cwd, env=upstream_env) for spec in upstreams]
    catalog: dict[str, set[str]] = {}
    servers = {c.spec.name: GatewayServer(c, runtime.analyze, catalog=catalog) for c in connections}
    # DNS-rebinding protection: only the configured Host headers are served.
    security = TransportSecuritySettings(
        allowed_hosts=list(allowed_hosts), allowed_origins=[f"http://{h}" for h in allowed_hosts]
    )
    managers = {
        name: StreamableHTTPSessionManager(app=server, security_settings=security) for name, server in servers.items()
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_telemetry(settings.telemetry)
        configure_logging(settings.telemetry)
        db = Database(settings.effective_database_url)
        if db.is_sqlite:
            await run_in_threadpool(db.upgrade)
        await run_in_threadpool(ensure_tenant, db, tenant_id)
        models = ModelRegistry(db, settings.effective_model_dir, settings.model_key_bytes())
        runtime.orchestrator = SecurityOrchestrator(db, models, policies=PolicyProvider(db, policy_file))
        app.state.gateway = runtime
        try:
            async with open_upstreams(connections), contextlib.AsyncExitStack() as stack:
                for manager in managers.values():
                    await stack.enter_async_context(manager.run())
                yield
        finally:
            runtime.orchestrator.close()
            db.dispose()
            shutdown_telemetry()

    app = FastAPI(
        title="SecureNet MCP gateway",
        version=package_version(),
        lifespan=lifespan,
        telemetry=fastapi_telemetry_options(),
    )

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, Any]:
        return {"status": "ok", "upstreams": names}

    for name, manager in managers.items():
        app.router.routes.append(Route(f"/mcp/{name}", endpoint=StreamableHTTPASGIApp(manager)))
    app.router.routes.append(MetricsRoute("/metrics"))
    app.add_middleware(RequestMetricsMiddleware)
    return app
