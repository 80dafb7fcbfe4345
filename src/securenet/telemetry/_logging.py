"""One logging pipeline for structlog and the standard library, correlated with traces.

The processors run in this order for every record, whether it came from structlog or
from a stdlib logger such as uvicorn's or SQLAlchemy's:

    merge contextvars -> logger name -> level -> timestamp -> trace context -> stack and
    exception info as plain text -> redact secrets -> renderer (JSON lines or console)

Both renderers print the same redacted text: tracebacks never show local variables (a
request's locals hold its API key), and credentials in exception messages are masked.

When a logs exporter is configured, an OpenTelemetry handler on the root logger also
exports each record, with the trace and span ids of the span current when it was logged.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace as otel_trace

from securenet.telemetry import _setup
from securenet.telemetry._settings import TelemetrySettings

__all__ = ["RedactSecrets", "add_trace_context", "configure_logging"]

EventDict = MutableMapping[str, Any]


def add_trace_context(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Add ``trace_id`` (32 hex), ``span_id`` (16 hex) and ``trace_flags`` when a span is current."""
    ctx = otel_trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
        event_dict["trace_flags"] = format(ctx.trace_flags, "02x")
    return event_dict


class RedactSecrets:
    """Mask secrets in an event dict: values of keys that name secrets, and credentials inside text.

    Text is every string value, however deeply nested in dicts, lists and tuples, including
    the event, formatted tracebacks (``exception``) and exception messages. Inside text it
    masks bearer/basic credentials, SecureNet API keys (``snk_…``) and the values of
    ``Authorization``/``X-API-Key`` headers, quoted or not.
    """

    DEFAULT_KEYS = ("authorization", "api_key", "apikey", "x-api-key", "password", "secret", "token", "cookie")
    MASK = "[secure]"
    #: Cheap first check, so text without any hint of a credential costs one search.
    _HINT = re.compile(r"(?i)bearer|basic|snk_|authorization|api.?key")
    _SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
    #: A SecureNet API key, masked whole (its shown prefix included).
    _API_KEY = re.compile(r"\bsnk_[A-Za-z0-9_-]+")
    #: The value in ``authorization: x``, ``"x-api-key": "x"``, ``(b'authorization', b'x')``.
    _HEADER = re.compile(
        r"(?i)\b(authorization|x-api-key)(['\"]?\s*[:=,]\s*(?:b?['\"])?)((?:bearer|basic)\s+)?"
        r"(?!(?:bearer|basic)\s)([^\s'\",;()\[\]{}]{4,})"
    )

    def __init__(self, keys: tuple[str, ...] = DEFAULT_KEYS) -> None:
        self._keys = tuple(k.lower() for k in keys)

    def _secret_key(self, key: str) -> bool:
        lowered = key.lower()
        return any(k in lowered for k in self._keys)

    def text(self, value: str) -> str:
        """``value`` with every credential in it masked."""
        if not self._HINT.search(value):
            return value
        value = self._SCHEME.sub(rf"\1 {self.MASK}", value)
        value = self._HEADER.sub(rf"\1\2\3{self.MASK}", value)
        return self._API_KEY.sub(f"snk_{self.MASK}", value)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                k: self.MASK if isinstance(k, str) and self._secret_key(k) else self._value(v) for k, v in value.items()
            }
        if type(value) in (list, tuple):
            return type(value)(self._value(v) for v in value)
        return value

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        for key, value in list(event_dict.items()):
            if key.startswith("_"):  # structlog's own record and logger objects
                continue
            if key not in ("event", "exception") and self._secret_key(key):
                event_dict[key] = self.MASK
            else:
                event_dict[key] = self._value(value)
        return event_dict


_REDACT = RedactSecrets()
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
#: Event-dict fields the exported record carries elsewhere (body, severity, context, exception.*).
_NOT_ATTRIBUTES = frozenset(
    {"event", "exception", "level", "timestamp", "logger", "trace_id", "span_id", "trace_flags"}
)


def _exception_attributes(record: logging.LogRecord, formatted: str | None) -> dict[str, str]:
    """The semantic-convention ``exception.*`` attributes for a record, redacted.

    The OpenTelemetry handler would otherwise export ``record.exc_info``'s message and
    traceback as they are; ``formatted`` is a traceback structlog already rendered and redacted.
    """
    attributes: dict[str, str] = {}
    if record.exc_info:
        exc_type, exc, _ = record.exc_info
        if exc_type is not None:
            attributes["exception.type"] = exc_type.__name__
        if exc is not None:
            attributes["exception.message"] = _REDACT.text(str(exc))
        formatted = formatted or "".join(traceback.format_exception(*record.exc_info))
    if formatted:
        attributes["exception.stacktrace"] = _REDACT.text(formatted)
    return attributes


def _otel_handler_class() -> Any:
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    class StructlogAwareHandler(LoggingHandler):
        """Exports structlog's event dicts with the event as body and primitive fields as attributes.

        Every exported text is redacted; exceptions become ``exception.*`` attributes.
        """

        def emit(self, record: logging.LogRecord) -> None:
            if not isinstance(record.msg, dict):
                # stdlib records skip structlog's processors: mask their text here.
                copy = logging.makeLogRecord({**record.__dict__, **_exception_attributes(record, None)})
                copy.msg = _REDACT.text(record.getMessage())
            else:
                event = dict(record.msg)
                fields = {
                    k: v
                    for k, v in event.items()
                    if k not in _RESERVED and k not in _NOT_ATTRIBUTES and isinstance(v, str | bool | int | float)
                }
                # structlog keeps its logger objects on the record (_logger, _name): not attributes.
                base = {k: v for k, v in record.__dict__.items() if not k.startswith("_")}
                copy = logging.makeLogRecord(
                    {**base, **fields, **_exception_attributes(record, event.get("exception"))}
                )
                copy.msg = str(event.get("event", ""))
            copy.args, copy.exc_info, copy.exc_text = (), None, None
            super().emit(copy)

    return StructlogAwareHandler


_configured_handlers: list[logging.Handler] = []


def shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
        structlog.processors.StackInfoRenderer(),
        # Tracebacks become plain text (never local variables) here, before redaction, so the
        # exception's message and the traceback are masked like any other field.
        structlog.processors.format_exc_info,
        _REDACT,
    ]


def configure_logging(settings: TelemetrySettings | None = None, stream: Any = None) -> None:
    """Configure structlog and stdlib logging once; calling again replaces our handlers only."""
    settings = settings or TelemetrySettings()
    shared = shared_processors()
    renderer: Any
    if settings.effective_log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        # Exceptions arrive already formatted and redacted; should one ever reach the renderer
        # unformatted, it prints a plain traceback: Rich's default shows local variables,
        # and a request's locals hold its API key.
        renderer = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
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
