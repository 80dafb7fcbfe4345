"""Hooks that switch on the OpenTelemetry auto-instrumentation libraries.

Each is a no-op when telemetry is disabled. The
instrumentations take the global providers, which ``setup_telemetry`` installs, so an
app or client instrumented before setup starts recording once setup has run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from securenet.telemetry import _setup
from securenet.telemetry._settings import TelemetrySettings

if TYPE_CHECKING:
    import httpx
    from fastapi.telemetry import TelemetryConfig
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "EXCLUDED_PATHS",
    "fastapi_telemetry_options",
    "instrument_httpx",
    "instrument_redis",
    "instrument_sqlalchemy",
]

#: Paths never traced: probes and scrapes are high-volume noise.
EXCLUDED_PATHS = frozenset({"/health", "/ready", "/metrics"})

_logger = logging.getLogger("securenet.telemetry")


def _disabled() -> bool:
    handle = _setup.current_handle()
    if handle is not None:
        return not handle.enabled
    return bool(TelemetrySettings().resolve().sdk_disabled)


def fastapi_telemetry_options() -> TelemetryConfig:
    """Options for ``FastAPI(telemetry=...)``: FastAPI's own OpenTelemetry support.

    FastAPI traces each request itself (one SERVER span, semconv attributes, context
    extracted with the global propagators) and records ``http.server.request.duration``.
    We keep that, and switch off what is noise or a leak for a security product:
    probes and scrapes are not traced, per-operation sub-spans are off (their cost is
    paid on every request), and FastAPI's log records of validation failures are off
    because they carry the rejected input.
    """
    return {
        "tracing": not _disabled(),
        "metrics": not _disabled(),
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,
        "exclude": _excluded,
    }


def _excluded(scope: Mapping[str, Any]) -> bool:
    return scope.get("path") in EXCLUDED_PATHS


def instrument_httpx(client: httpx.Client | httpx.AsyncClient | None = None) -> None:
    """Trace outgoing HTTPX calls (all clients, or just ``client``) and inject the context."""
    if _disabled():
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    if client is None:
        instrumentor = HTTPXClientInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    else:
        HTTPXClientInstrumentor.instrument_client(client)


def instrument_sqlalchemy(engine: Engine | AsyncEngine) -> None:
    """Trace statements on a SQLAlchemy engine (sync or async)."""
    if _disabled():
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    target = getattr(engine, "sync_engine", engine)  # an AsyncEngine wraps the sync one
    SQLAlchemyInstrumentor().instrument(engine=target, enable_commenter=False)


def instrument_redis() -> None:
    """Trace redis-py commands (sync and asyncio clients)."""
    if _disabled():
        return
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    instrumentor = RedisInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
