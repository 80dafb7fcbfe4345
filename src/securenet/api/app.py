"""The FastAPI application factory.

Telemetry is set up in the lifespan, so that every server worker process (uvicorn
``--workers``, gunicorn's uvicorn workers, with or without ``--preload``) builds its
own providers exactly once and flushes them when it stops. The database, the queue
and the orchestrator are built there too, once per process.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from securenet.api import detections, flows, security, tenants, training
from securenet.api.deps import AppState
from securenet.api.metrics import MetricsRoute, RequestMetricsMiddleware
from securenet.api.middleware import BodyLimitMiddleware, TraceHeadersMiddleware
from securenet.api.problems import PROBLEM_JSON, install_problem_handlers
from securenet.config import Settings, load_settings
from securenet.orchestrator import ModelRegistry, PolicyProvider, SecurityOrchestrator
from securenet.ratelimit import InProcessRateLimiter, RateLimiter, RedisRateLimiter
from securenet.store.database import Database
from securenet.telemetry import (
    fastapi_telemetry_options,
    instrument_redis,
    package_version,
    setup_telemetry,
    shutdown_telemetry,
)

__all__ = ["build_state", "create_app"]

log = structlog.get_logger("securenet.api")


def build_state(settings: Settings) -> AppState:
    """Everything a process needs to serve: database (migrated if SQLite), queue, limiter."""
    from securenet.ingest import InProcessQueue, RedisStreamQueue

    db = Database(settings.effective_database_url)
    if db.is_sqlite:
        db.upgrade()
    queue: Any
    limiter: RateLimiter
    if settings.redis_url:
        import redis

        instrument_redis()
        queue = RedisStreamQueue(
            settings.redis_url, max_len=settings.stream_max_len, max_deliveries=settings.stream_max_deliveries
        )
        limiter = RedisRateLimiter(redis.Redis.from_url(settings.redis_url, socket_timeout=2))
    else:
        queue = InProcessQueue(max_len=settings.stream_max_len, max_deliveries=settings.stream_max_deliveries)
        limiter = InProcessRateLimiter()
    models = ModelRegistry(db, settings.effective_model_dir, settings.model_key_bytes())
    orchestrator = SecurityOrchestrator(db, models, policies=PolicyProvider(db, settings.mcp_policy_file))
    return AppState(settings, db, orchestrator, queue, limiter)


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    settings = settings or load_settings()  # a ConfigError names each bad variable, secrets hidden
    gateway = None
    if settings.mcp_upstreams:
        from securenet.api.mcp_routes import McpGateway
        from securenet.mcp.gateway import UpstreamSpec

        specs = [UpstreamSpec.parse(item) for item in settings.mcp_upstreams]
        hosts = [f"{settings.host}:*", "127.0.0.1:*", "localhost:*"]
        gateway = McpGateway.from_settings(settings, specs, lambda: app.state.securenet, hosts)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_telemetry(settings.telemetry)  # logging too
        own_state = state is None
        current: AppState = state if state is not None else await run_in_threadpool(build_state, settings)
        app.state.securenet = current
        embedded = None
        if own_state and not settings.redis_url:
            # No Redis: this process also runs the worker, on the in-process queue.
            from securenet.worker import StreamWorker

            embedded = StreamWorker(current.queue, current.orchestrator, name="embedded")
            embedded.start_thread()
        try:
            async with contextlib.AsyncExitStack() as stack:
                if gateway is not None:
                    current.extras["gateways"] = gateway.servers
                    await stack.enter_async_context(gateway.running())
                yield
        finally:
            if embedded is not None:
                embedded.stop()
            if own_state:
                current.orchestrator.close()
                current.queue.close()
                current.db.dispose()
            shutdown_telemetry()

    app = FastAPI(
        title="SecureNet",
        version=package_version(),
        description="MCP gateway and network threat detection, observable end to end. "
        "Authenticate with `Authorization: Bearer <key>` or `X-API-Key`. Errors are RFC 9457 "
        "problem documents; every response names its trace in `traceresponse` and `X-Trace-Id`.",
        lifespan=lifespan,
        telemetry=fastapi_telemetry_options(),
    )
    install_problem_handlers(app)

    @app.get("/health", tags=["operations"], summary="Liveness probe (and each MCP upstream's state)")
    async def health() -> dict[str, Any]:
        # Liveness only: an upstream that is down is reported here, never a reason to restart.
        body: dict[str, Any] = {"status": "ok"}
        if gateway is not None:
            body["upstreams"] = gateway.upstreams()
        return body

    @app.get("/ready", tags=["operations"], summary="Readiness: database and queue reachable")
    async def ready() -> JSONResponse:
        current = app.state.securenet
        checks: dict[str, str] = {}
        try:
            await run_in_threadpool(current.db.ping)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready; the type says which
            checks["database"] = f"unavailable ({type(exc).__name__})"
        try:
            await run_in_threadpool(current.queue.ping)
            checks["queue"] = "ok"
        except Exception as exc:
            checks["queue"] = f"unavailable ({type(exc).__name__})"
        ok = all(value == "ok" for value in checks.values())
        body: dict[str, Any] = {"status": "ready" if ok else "not ready", "checks": checks}
        if gateway is not None:
            # Reported, not required: each upstream's clients get an error naming it while it is down,
            # and the rest of the service keeps serving.
            body["upstreams"] = gateway.upstreams()
        if not ok:
            body = {"type": "about:blank", "title": "Not ready", "status": 503, **body}
        return JSONResponse(body, status_code=200 if ok else 503, media_type=None if ok else PROBLEM_JSON)

    for module in (flows, detections, training, tenants, security):
        app.include_router(module.router)
    if gateway is not None:
        app.router.routes.extend(gateway.routes())
    app.router.routes.append(MetricsRoute("/metrics"))
    # Added last = outermost: the body limit sees the request first.
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(TraceHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app
