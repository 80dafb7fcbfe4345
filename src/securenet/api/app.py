"""The one app builder, for `securenet serve` (:func:`create_app`) and `securenet mcp-gateway`.

Both apps get the same middleware stack (body limit, trace headers, request metrics), the same
problem+json error handlers and the same operations routes (``/health``, ``/ready`` with each
MCP upstream's state, ``/metrics``). ``serve`` adds the ``/v1`` REST routes and ingest.

Telemetry is set up in the lifespan, so that every server worker process (uvicorn
``--workers``, gunicorn's uvicorn workers, with or without ``--preload``) builds its
own providers exactly once and flushes them when it stops. The services
(:class:`securenet.runtime.Services`) are built there too, once per process.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from securenet.api import detections, flows, security, tenants, training
from securenet.api.metrics import MetricsRoute, RequestMetricsMiddleware
from securenet.api.middleware import BodyLimitMiddleware, TraceHeadersMiddleware
from securenet.api.problems import PROBLEM_JSON, install_problem_handlers
from securenet.config import Settings, load_settings
from securenet.runtime import Services
from securenet.telemetry import fastapi_telemetry_options, package_version, setup_telemetry, shutdown_telemetry

if TYPE_CHECKING:
    from securenet.api.mcp_routes import McpGateway

__all__ = ["build_app", "create_app"]

#: The `/v1` routers of `securenet serve`.
REST_ROUTERS = (flows, detections, training, tenants, security)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The `securenet serve` app: the REST API, ingest, and /mcp/NAME per configured upstream.

    Without ``services`` the app builds its own when it starts and closes them when it stops.
    """
    settings = settings or load_settings()  # a ConfigError names each bad variable, secrets hidden
    gateway = None
    if settings.mcp_upstreams:
        from securenet.api.mcp_routes import McpGateway
        from securenet.mcp.gateway import UpstreamSpec

        specs = [UpstreamSpec.parse(item) for item in settings.mcp_upstreams]
        hosts = [f"{settings.host}:*", "127.0.0.1:*", "localhost:*"]
        gateway = McpGateway(settings, specs, hosts)
    return build_app(
        settings,
        title="SecureNet",
        description="MCP gateway and network threat detection, observable end to end. "
        "Authenticate with `Authorization: Bearer <key>` or `X-API-Key`. Errors are RFC 9457 "
        "problem documents; every response names its trace in `traceresponse` and `X-Trace-Id`.",
        rest_api=True,
        gateway=gateway,
        services=services,
    )


def build_app(
    settings: Settings,
    *,
    title: str,
    description: str,
    rest_api: bool,
    gateway: McpGateway | None = None,
    services: Services | None = None,
    prepare: Callable[[Services], None] | None = None,
) -> FastAPI:
    """A SecureNet app: operations routes, problem+json errors and the middleware stack, plus

    - with ``rest_api``, the `/v1` routers and ingest: the queue is checked by ``/ready``, and
      without Redis this process drains it with an embedded worker;
    - with ``gateway``, its /mcp/NAME routes, running for as long as the app does;
    - ``prepare``, called once with the services before the app serves.

    Without ``services`` the lifespan builds them (:meth:`Services.build`) and closes them.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_telemetry(settings.telemetry)  # logging too
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(shutdown_telemetry)  # last out
            current = services
            if current is None:
                current = await run_in_threadpool(Services.build, settings)
                stack.callback(current.close)
                if rest_api:
                    stack.enter_context(current.embedded_worker())
            app.state.securenet = current
            if prepare is not None:
                await run_in_threadpool(prepare, current)
            if gateway is not None:
                await stack.enter_async_context(gateway.running(current))
            yield

    app = FastAPI(
        title=title,
        version=package_version(),
        description=description,
        lifespan=lifespan,
        telemetry=fastapi_telemetry_options(),
    )
    app.state.mcp_servers = {} if gateway is None else gateway.servers
    install_problem_handlers(app)

    @app.get("/health", tags=["operations"], summary="Liveness probe (and each MCP upstream's state)")
    async def health() -> dict[str, Any]:
        # Liveness only: an upstream that is down is reported here, never a reason to restart.
        body: dict[str, Any] = {"status": "ok"}
        if gateway is not None:
            body["upstreams"] = gateway.upstreams()
        return body

    @app.get("/ready", tags=["operations"], summary="Readiness: database (and queue) reachable")
    async def ready() -> JSONResponse:
        current: Services = app.state.securenet
        probes: dict[str, Callable[[], None]] = {"database": current.db.ping}
        if rest_api:
            probes["queue"] = current.queue.ping
        checks: dict[str, str] = {}
        for name, probe in probes.items():
            try:
                await run_in_threadpool(probe)
                checks[name] = "ok"
            except Exception as exc:  # any failure means not ready; the type says which
                checks[name] = f"unavailable ({type(exc).__name__})"
        ok = all(value == "ok" for value in checks.values())
        body: dict[str, Any] = {"status": "ready" if ok else "not ready", "checks": checks}
        if gateway is not None:
            # Reported, not required: each upstream's clients get an error naming it while it is down,
            # and the rest of the service keeps serving.
            body["upstreams"] = gateway.upstreams()
        if not ok:
            body = {"type": "about:blank", "title": "Not ready", "status": 503, **body}
        return JSONResponse(body, status_code=200 if ok else 503, media_type=None if ok else PROBLEM_JSON)

    if rest_api:
        for module in REST_ROUTERS:
            app.include_router(module.router)
    if gateway is not None:
        app.router.routes.extend(gateway.routes())
    app.router.routes.append(MetricsRoute("/metrics"))
    # Added last = outermost: the body limit sees the request first.
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(TraceHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app
