"""SecureNet's observability layer: tracing, metrics and trace-correlated logs.

Everything a component needs is exported here; the implementation modules are private.
This package imports nothing else of SecureNet's, so every other package may use it. It
owns no domain instruments: each room builds its own from ``get_meter`` with ``Instruments``.
"""

from securenet.telemetry._instrument import (
    EXCLUDED_PATHS,
    fastapi_telemetry_options,
    instrument_httpx,
    instrument_redis,
    instrument_sqlalchemy,
)
from securenet.telemetry._logging import RedactSecrets, add_trace_context, configure_logging
from securenet.telemetry._metrics import DURATION_BUCKETS_S, Instruments
from securenet.telemetry._settings import ConfigProblem, ResolvedTelemetry, TelemetrySettings
from securenet.telemetry._setup import (
    TelemetryHandle,
    current_handle,
    get_meter,
    get_tracer,
    package_version,
    setup_telemetry,
    shutdown_telemetry,
)
from securenet.telemetry._tracing import (
    async_trace_operation,
    current_trace_id,
    set_current_span_attribute,
    trace_network_scan,
    trace_operation,
    trace_threat_detection,
    traced,
)

__all__ = [
    "DURATION_BUCKETS_S",
    "EXCLUDED_PATHS",
    "ConfigProblem",
    "Instruments",
    "RedactSecrets",
    "ResolvedTelemetry",
    "TelemetryHandle",
    "TelemetrySettings",
    "add_trace_context",
    "async_trace_operation",
    "configure_logging",
    "current_handle",
    "current_trace_id",
    "fastapi_telemetry_options",
    "get_meter",
    "get_tracer",
    "instrument_httpx",
    "instrument_redis",
    "instrument_sqlalchemy",
    "package_version",
    "set_current_span_attribute",
    "setup_telemetry",
    "shutdown_telemetry",
    "trace_network_scan",
    "trace_operation",
    "trace_threat_detection",
    "traced",
]
