"""Hooks that switch on the OpenTelemetry auto-instrumentation libraries.

Each is a no-op when telemetry is disabled or OpenTelemetry is missing. The
instrumentations take the global providers, which ``setup_telemetry`` installs; an app
instrumented before setup starts recording once setup has run.
"""

from __future__ import annotations

import logging
from typing import Any

from securenet.telemetry import _setup
from securenet.telemetry._settings import TelemetrySettings

__all__ = ["instrument_app", "instrument_httpx", "instrument_redis", "instrument_sqlalchemy"]

#: Paths never traced: probes and scrapes are high-volume noise.
EXCLUDED_URLS = "/health$,/ready$,/metrics$"

_logger = logging.getLogger("securenet.telemetry")


def _disabled() -> bool:
    handle = _setup.current_handle()
    if not _setup.HAVE_OTEL:
        return True
    if handle is not None:
        return not handle.enabled
    return bool(TelemetrySettings().resolve().sdk_disabled)


def instrument_app(app: Any) -> None:
    """Trace a FastAPI app: one server span per request, no ASGI send/receive sub-spans."""
    if _disabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"])


def instrument_httpx(client: Any = None) -> None:
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


def instrument_sqlalchemy(engine: Any) -> None:
    """Trace statements on a SQLAlchemy engine (sync or async)."""
    if _disabled():
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    target = getattr(engine, "sync_engine", engine)
    SQLAlchemyInstrumentor().instrument(engine=target, enable_commenter=False)


def instrument_redis() -> None:
    """Trace redis-py commands (sync and asyncio clients)."""
    if _disabled():
        return
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    instrumentor = RedisInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
