"""One logging pipeline for structlog and the standard library, correlated with traces.

The processors run in this order for every record, whether it came from structlog or
from a stdlib logger such as uvicorn's or SQLAlchemy's:

    merge contextvars -> logger name -> level -> timestamp -> trace context -> redact secrets
    -> exception info -> renderer (JSON lines or console)

When a logs exporter is configured, an OpenTelemetry handler on the root logger also
exports each record, with the trace and span ids of the span current when it was logged.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from securenet.telemetry import _setup
from securenet.telemetry._settings import TelemetrySettings

__all__ = ["RedactSecrets", "add_trace_context", "configure_logging"]

EventDict = MutableMapping[str, Any]

if _setup.HAVE_OTEL:
    from opentelemetry import trace as otel_trace


def add_trace_context(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Add ``trace_id`` (32 hex), ``span_id`` (16 hex) and ``trace_flags`` when a span is current."""
    if not _setup.HAVE_OTEL:
        return event_dict
    ctx = otel_trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
        event_dict["trace_flags"] = format(ctx.trace_flags, "02x")
    return event_dict


class RedactSecrets:
    """Mask values of keys that name secrets, and bearer tokens inside strings."""

    DEFAULT_KEYS = ("authorization", "api_key", "apikey", "x-api-key", "password", "secret", "token", "cookie")
    _BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")

    def __init__(self, keys: tuple[str, ...] = DEFAULT_KEYS) -> None:
        self._keys = tuple(k.lower() for k in keys)

    def _secret_key(self, key: str) -> bool:
        lowered = key.lower()
        return any(k in lowered for k in self._keys)

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        for key, value in list(event_dict.items()):
            if key == "event":
                if isinstance(value, str):
                    event_dict[key] = self._BEARER.sub(r"\1 [secure]", value)
            elif self._secret_key(key):
                event_dict[key] = "[secure]"
            elif isinstance(value, str) and ("earer " in value or "asic " in value):
                event_dict[key] = self._BEARER.sub(r"\1 [secure]", value)
        return event_dict


_REDACT = RedactSecrets()
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _otel_handler_class() -> Any:
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    class StructlogAwareHandler(LoggingHandler):
        """Exports structlog's event dicts with the event as body and primitive fields as attributes."""

        def emit(self, record: logging.LogRecord) -> None:
            if not isinstance(record.msg, dict):
                # stdlib records skip structlog's processors: mask their text here too.
                redacted = _REDACT(None, "", {"event": record.getMessage()})["event"]
                copy = logging.makeLogRecord(record.__dict__)
                copy.msg, copy.args = redacted, ()
                record = copy
            else:
                event = dict(record.msg)
                fields = {
                    k: v
                    for k, v in event.items()
                    if k not in _RESERVED
                    and k not in ("event", "level", "timestamp", "logger", "trace_id", "span_id", "trace_flags")
                    and isinstance(v, str | bool | int | float)
                }
                # structlog keeps its logger objects on the record (_logger, _name): not attributes.
                base = {k: v for k, v in record.__dict__.items() if not k.startswith("_")}
                copy = logging.makeLogRecord({**base, **fields})
                copy.msg, copy.args = str(event.get("event", "")), ()
                record = copy
            super().emit(record)

    return StructlogAwareHandler


_configured_handlers: list[logging.Handler] = []


def shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
        RedactSecrets(),
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(settings: TelemetrySettings | None = None, stream: Any = None) -> None:
    """Configure structlog and stdlib logging once; calling again replaces our handlers only."""
    settings = settings or TelemetrySettings()
    shared = shared_processors()
    renderer: Any
    if settings.effective_log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        final = [structlog.processors.format_exc_info, renderer]
    else:
        final = [structlog.dev.ConsoleRenderer(colors=False)]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    root = logging.getLogger()
    for handler in _configured_handlers:
        root.removeHandler(handler)
    _configured_handlers.clear()

    console = logging.StreamHandler(stream or sys.stderr)
    console.setFormatter(formatter)
    root.addHandler(console)
    _configured_handlers.append(console)

    handle = _setup.current_handle()
    if handle is not None and handle.logger_provider is not None:
        otel_handler = _otel_handler_class()(logger_provider=handle.logger_provider)
        root.addHandler(otel_handler)
        _configured_handlers.append(otel_handler)

    root.setLevel(settings.effective_log_level.upper())
    # uvicorn installs its own handlers; route its records through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lib_logger = logging.getLogger(name)
        lib_logger.handlers.clear()
        lib_logger.propagate = True
