"""The standalone MCP gateway app (`securenet mcp-gateway`): one `/mcp/NAME` per upstream.

It runs on the same services (:class:`securenet.runtime.Services`) and telemetry as the
service, for one tenant (``default`` unless told otherwise), with the policy from a file
(``policy_file``, else ``SECURENET_MCP_POLICY_FILE``) that is reloaded when it changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from securenet.api.mcp_routes import McpGateway
from securenet.api.metrics import MetricsRoute, RequestMetricsMiddleware
from securenet.api.problems import PROBLEM_JSON
from securenet.config import Settings
from securenet.mcp.gateway import UpstreamSpec
from securenet.runtime import Services
from securenet.store import tenants
from securenet.store.database import Database
from securenet.telemetry import (
    fastapi_telemetry_options,
    package_version,
    setup_telemetry,
    shutdown_telemetry,
)

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
    gateway = McpGateway.from_settings(
        settings,
        upstreams,
        allowed_hosts,
        tenant_id=tenant_id,
        upstream_cwd=upstream_cwd,
        upstream_env=upstream_env,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_telemetry(settings.telemetry)  # logging too
        services = await run_in_threadpool(Services.build, settings)
        app.state.securenet = services
        try:
            await run_in_threadpool(ensure_tenant, services.db, tenant_id)
            async with gateway.running(services):
                yield
        finally:
            services.close()
            shutdown_telemetry()

    app = FastAPI(
        title="SecureNet MCP gateway",
        version=package_version(),
        lifespan=lifespan,
        telemetry=fastapi_telemetry_options(),
    )

    @app.get("/health", tags=["operations"], summary="Liveness probe and each upstream's state")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "upstreams": gateway.upstreams()}

    @app.get("/ready", tags=["operations"], summary="Readiness: the database, and each upstream's state")
    async def ready() -> JSONResponse:
        try:
            await run_in_threadpool(app.state.securenet.db.ping)
            database = "ok"
        except Exception as exc:  # any failure means not ready; the type says which
            database = f"unavailable ({type(exc).__name__})"
        ok = database == "ok"
        body: dict[str, Any] = {
            "status": "ready" if ok else "not ready",
            "checks": {"database": database},
            "upstreams": gateway.upstreams(),
        }
        if not ok:
            body = {"type": "about:blank", "title": "Not ready", "status": 503, **body}
        return JSONResponse(body, status_code=200 if ok else 503, media_type=None if ok else PROBLEM_JSON)

    app.router.routes.extend(gateway.routes())
    app.router.routes.append(MetricsRoute("/metrics"))
    app.add_middleware(RequestMetricsMiddleware)
    return app
