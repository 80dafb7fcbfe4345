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
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from securenet.api.mcp_routes import McpGateway
from securenet.api.metrics import MetricsRoute, RequestMetricsMiddleware
from securenet.api.problems import PROBLEM_JSON
from securenet.config import Settings
from securenet.mcp.gateway import UpstreamSpec
from securenet.orchestrator import ModelRegistry, PolicyProvider, SecurityOrchestrator
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


class GatewayRuntime:
    """What the gateway's servers need from the lifespan: the orchestrator."""

    def __init__(self) -> None:
        self.orchestrator: SecurityOrchestrator | None = None
        self.db: Database | None = None

    def require_db(self) -> Database:
        if self.db is None:
            raise RuntimeError("the gateway has not started")
        return self.db


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
    runtime = GatewayRuntime()
    gateway = McpGateway.from_settings(
        settings,
        upstreams,
        lambda: runtime,
        allowed_hosts,
        tenant_id=tenant_id,
        upstream_cwd=upstream_cwd,
        upstream_env=upstream_env,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_telemetry(settings.telemetry)  # logging too
        db = Database(settings.effective_database_url)
        if db.is_sqlite:
            await run_in_threadpool(db.upgrade)
        await run_in_threadpool(ensure_tenant, db, tenant_id)
        runtime.db = db
        models = ModelRegistry(db, settings.effective_model_dir, settings.model_key_bytes())
        runtime.orchestrator = SecurityOrchestrator(db, models, policies=PolicyProvider(db, policy_file))
        try:
            async with gateway.running():
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

    @app.get("/health", tags=["operations"], summary="Liveness probe and each upstream's state")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "upstreams": gateway.upstreams()}

    @app.get("/ready", tags=["operations"], summary="Readiness: the database, and each upstream's state")
    async def ready() -> JSONResponse:
        try:
            await run_in_threadpool(runtime.require_db().ping)
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
