"""The FastAPI application factory.

Telemetry is set up in the lifespan, so that every server worker process (uvicorn
``--workers``, gunicorn's uvicorn workers, with or without ``--preload``) builds its
own providers exactly once and flushes them when it stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from securenet.api.metrics import MetricsRoute, RequestMetricsMiddleware
from securenet.config import Settings
from securenet.telemetry import (
    configure_logging,
    fastapi_telemetry_options,
    package_version,
    setup_telemetry,
    shutdown_telemetry,
)

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_telemetry(settings.telemetry)
        configure_logging(settings.telemetry)
        try:
            yield
        finally:
            shutdown_telemetry()

    app = FastAPI(
        title="SecureNet",
        version=package_version(),
        description="MCP gateway and network threat detection, observable end to end.",
        lifespan=lifespan,
        telemetry=fastapi_telemetry_options(),
    )
    app.state.settings = settings

    @app.get("/health", tags=["operations"], summary="Liveness probe")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.router.routes.append(MetricsRoute("/metrics"))
    app.add_middleware(RequestMetricsMiddleware)
    return app
