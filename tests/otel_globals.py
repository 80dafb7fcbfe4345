"""Reset OpenTelemetry's set-once globals between tests, as OpenTelemetry's own test utilities do."""

from __future__ import annotations

from opentelemetry import _logs, trace
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.util._once import Once


def reset_otel_globals() -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None
    logs_internal = _logs._internal
    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None
