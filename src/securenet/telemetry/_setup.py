"""Provider setup and shutdown: the only place that builds exporters.

``setup_telemetry`` is idempotent per process. It installs the global tracer,
meter and logger providers, the propagators and the SDK's own processor metrics
(which count dropped spans), configures logging unless told not to, and registers a
bounded ``atexit`` flush.
OpenTelemetry's API and SDK are required dependencies. With ``OTEL_SDK_DISABLED=true``
every public helper still works and produces no telemetry (the API's no-op tracer and meter).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace as otel_trace
from opentelemetry.metrics import Meter
from opentelemetry.trace import Tracer

from securenet.telemetry._settings import OtlpConfig, ResolvedTelemetry, TelemetrySettings

if TYPE_CHECKING:  # the SDK is imported when telemetry is set up, not when this module is
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import Sampler

__all__ = [
    "TelemetryHandle",
    "current_handle",
    "get_meter",
    "get_tracer",
    "package_version",
    "setup_telemetry",
    "shutdown_telemetry",
]

_logger = logging.getLogger("securenet.telemetry")
INTERNAL_METRICS_ENV = "OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"
_lock = threading.RLock()
_handle: TelemetryHandle | None = None
_tracers: dict[str, Tracer] = {}
_atexit_registered = False


def package_version() -> str:
    """The installed ``securenet`` distribution's version (``service.version``)."""
    try:
        return metadata.version("securenet")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


@dataclass
class TelemetryHandle:
    """What ``setup_telemetry`` built. ``enabled`` is False when telemetry is a no-op."""

    settings: TelemetrySettings
    config: ResolvedTelemetry
    enabled: bool
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    logger_provider: LoggerProvider | None = None
    resource: Resource | None = None
    prometheus: bool = False
    pid: int = field(default_factory=os.getpid)


def get_tracer(name: str = "securenet") -> Tracer:
    """A tracer for instrumentation scope ``name``; a no-op tracer when telemetry is off."""
    tracer = _tracers.get(name)
    if tracer is None:
        tracer = _build_tracer(name)
        _tracers[name] = tracer
    return tracer


def _build_tracer(name: str) -> Tracer:
    handle = _handle
    if handle is not None:
        if handle.tracer_provider is None:
            return otel_trace.NoOpTracer()  # cheaper than the proxy's indirection
        return handle.tracer_provider.get_tracer(name, package_version())
    # Before setup: the API's proxy tracer, which follows the provider once one is set.
    return otel_trace.get_tracer(name, package_version())


def get_meter(name: str = "securenet") -> Meter:
    """A meter for instrumentation scope ``name``; a no-op meter when telemetry is off."""
    handle = _handle
    if handle is not None and handle.meter_provider is not None:
        return handle.meter_provider.get_meter(name, package_version())
    return otel_metrics.get_meter(name, package_version())


def current_handle() -> TelemetryHandle | None:
    """What ``setup_telemetry`` built in this process, or None before setup (and after shutdown)."""
    return _handle


def setup_telemetry(settings: TelemetrySettings | None = None, *, configure_logs: bool = True) -> TelemetryHandle:
    """Build and install the providers once per process; later calls return the same handle.

    With ``configure_logs`` (the default) the first call also configures logging
    (:func:`configure_logging`), so that log lines carry the current span's ids and are
    exported with the logs exporter. Pass ``configure_logs=False`` to keep your own logging setup.
    """
    global _handle
    with _lock:
        if _handle is not None:
            return _handle
        settings = settings or TelemetrySettings()
        config = settings.resolve()
        if config.sdk_disabled:
            handle = TelemetryHandle(settings=settings, config=config, enabled=False)
        else:
            handle = _build(settings, config)
        _handle = handle
        _tracers.clear()
        _register_atexit()
        if configure_logs:
            # Imported here: the logging module reads this one's handle (its logger provider).
            from securenet.telemetry._logging import configure_logging

            configure_logging(settings)
        # Logged once logging is configured, so the warnings go through its pipeline.
        for problem in (*config.problems, *settings.log_problems()):
            _logger.warning("invalid telemetry configuration: %s", problem)
        return handle


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(shutdown_telemetry)
        _atexit_registered = True


def _build(settings: TelemetrySettings, config: ResolvedTelemetry) -> TelemetryHandle:
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource

    ours = Resource(
        {
            "service.name": "securenet",
            "service.version": package_version(),
            "service.instance.id": str(uuid.uuid4()),
            "deployment.environment.name": settings.environment,
            "host.name": socket.gethostname(),
            "process.pid": os.getpid(),
        }
    )
    # OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME win over our defaults, as the spec says.
    resource = ours.merge(OTELResourceDetector().detect())

    _install_propagators(config.propagators)
    meter_provider = _build_meter_provider(config, resource)
    with _processor_metrics_enabled():
        tracer_provider = _build_tracer_provider(config, resource, meter_provider)
        logger_provider = _build_logger_provider(config, resource, meter_provider)
    return TelemetryHandle(
        settings=settings,
        config=config,
        enabled=True,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        resource=resource,
        prometheus="prometheus" in config.metrics_exporters,
    )


@contextmanager
def _processor_metrics_enabled() -> Iterator[None]:
    """Turn on the SDK's batch-processor metrics, and only those, unless the operator chose.

    ``otel.sdk.processor.span.processed{error.type="queue_full"}`` is how dropped spans
    become visible, and it costs nothing per span. The same switch also turns on per-span
    tracer metrics (``otel.sdk.span.started``/``live``), which would cost ~60% per span, so
    it is set only while the processors are built (they read it in their constructors).
    """
    if INTERNAL_METRICS_ENV in os.environ:
        yield
        return
    os.environ[INTERNAL_METRICS_ENV] = "true"
    try:
        yield
    finally:
        os.environ.pop(INTERNAL_METRICS_ENV, None)


def _install_propagators(names: tuple[str, ...]) -> None:
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.propagators.textmap import TextMapPropagator

    # `opentelemetry.propagate` parses OTEL_PROPAGATORS at import and raises on an
    # unknown name; import it with the validated list so a typo cannot crash the service.
    saved = os.environ.get("OTEL_PROPAGATORS")
    os.environ["OTEL_PROPAGATORS"] = ",".join(names) or "none"
    try:
        from opentelemetry import propagate
    finally:
        if saved is None:
            del os.environ["OTEL_PROPAGATORS"]
        else:
            os.environ["OTEL_PROPAGATORS"] = saved

    built: list[TextMapPropagator] = []
    for name in names:
        if name == "tracecontext":
            from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

            built.append(TraceContextTextMapPropagator())
        elif name == "baggage":
            from opentelemetry.baggage.propagation import W3CBaggagePropagator

            built.append(W3CBaggagePropagator())
        elif name == "b3":
            from opentelemetry.propagators.b3 import B3SingleFormat

            built.append(B3SingleFormat())
        elif name == "b3multi":
            from opentelemetry.propagators.b3 import B3MultiFormat

            built.append(B3MultiFormat())
    propagate.set_global_textmap(CompositePropagator(built))


def _build_sampler(config: ResolvedTelemetry) -> Sampler:
    from opentelemetry.sdk.trace import sampling

    name, ratio = config.sampler.name, config.sampler.ratio
    root: Sampler
    if name.endswith("always_on"):
        root = sampling.ALWAYS_ON
    elif name.endswith("always_off"):
        root = sampling.ALWAYS_OFF
    else:
        root = sampling.TraceIdRatioBased(ratio)
    return sampling.ParentBased(root) if name.startswith("parentbased_") else root


def _otlp_kwargs(otlp: OtlpConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"endpoint": otlp.endpoint, "headers": otlp.headers, "timeout": otlp.timeout_s}
    if otlp.protocol == "grpc":
        from grpc import Compression

        kwargs["compression"] = Compression.Gzip if otlp.compression == "gzip" else Compression.NoCompression
        if otlp.insecure is not None:
            kwargs["insecure"] = otlp.insecure
    else:
        from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression

        kwargs["compression"] = HttpCompression.Gzip if otlp.compression == "gzip" else HttpCompression.NoCompression
    return kwargs


def _build_tracer_provider(
    config: ResolvedTelemetry, resource: Resource, meter_provider: MeterProvider
) -> TracerProvider:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=resource, sampler=_build_sampler(config), shutdown_on_exit=False)
    for name in config.traces_exporters:
        exporter: Any
        if name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "otlp":
            otlp = config.otlp["traces"]
            if otlp.protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
                    OTLPSpanExporter,
                )
            exporter = OTLPSpanExporter(**_otlp_kwargs(otlp))
        else:
            continue
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                max_queue_size=config.bsp.max_queue_size,
                schedule_delay_millis=config.bsp.schedule_delay_ms,
                max_export_batch_size=config.bsp.max_export_batch_size,
                export_timeout_millis=config.bsp.export_timeout_ms,
                meter_provider=meter_provider,
            )
        )
    otel_trace.set_tracer_provider(provider)
    return provider


def _build_meter_provider(config: ResolvedTelemetry, resource: Resource) -> MeterProvider:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    readers: list[Any] = []
    for name in config.metrics_exporters:
        if name == "prometheus":
            from opentelemetry.exporter.prometheus import PrometheusMetricReader

            readers.append(PrometheusMetricReader())
        elif name == "console":
            readers.append(
                PeriodicExportingMetricReader(
                    ConsoleMetricExporter(), export_interval_millis=config.metric_export_interval_ms
                )
            )
        elif name == "otlp":
            otlp = config.otlp["metrics"]
            if otlp.protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            else:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
                    OTLPMetricExporter,
                )
            readers.append(
                PeriodicExportingMetricReader(
                    OTLPMetricExporter(**_otlp_kwargs(otlp)),
                    export_interval_millis=config.metric_export_interval_ms,
                )
            )
    provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
    otel_metrics.set_meter_provider(provider)
    return provider


def _build_logger_provider(
    config: ResolvedTelemetry, resource: Resource, meter_provider: MeterProvider
) -> LoggerProvider | None:
    if config.logs_exporters == ("none",):
        return None
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, ConsoleLogRecordExporter

    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    for name in config.logs_exporters:
        exporter: Any
        if name == "console":
            exporter = ConsoleLogRecordExporter()
        else:
            otlp = config.otlp["logs"]
            if otlp.protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
            else:
                from opentelemetry.exporter.otlp.proto.http._log_exporter import (  # type: ignore[assignment]
                    OTLPLogExporter,
                )
            exporter = OTLPLogExporter(**_otlp_kwargs(otlp))
        provider.add_log_record_processor(
            BatchLogRecordProcessor(
                exporter,
                max_queue_size=config.blrp.max_queue_size,
                schedule_delay_millis=config.blrp.schedule_delay_ms,
                max_export_batch_size=config.blrp.max_export_batch_size,
                export_timeout_millis=config.blrp.export_timeout_ms,
                meter_provider=meter_provider,
            )
        )
    set_logger_provider(provider)
    return provider


def shutdown_telemetry(timeout_s: float = 5.0) -> bool:
    """Flush and shut down every provider within ``timeout_s`` seconds.

    The work runs in a daemon thread joined with the bound, so a hung or unreachable
    backend cannot hold the caller (a request, the lifespan, or interpreter exit).
    Returns True when everything was flushed in time.
    """
    global _handle
    with _lock:
        handle, _handle = _handle, None
        _tracers.clear()
    if handle is None or not handle.enabled:
        return True
    deadline = time.monotonic() + timeout_s

    def remaining_ms() -> int:
        return max(0, int((deadline - time.monotonic()) * 1000))

    def run() -> None:
        try:
            for provider in (handle.tracer_provider, handle.logger_provider):
                if provider is not None:
                    provider.force_flush(remaining_ms())
                    provider.shutdown()
            if handle.meter_provider is not None:
                handle.meter_provider.shutdown(timeout_millis=remaining_ms())
        except Exception:
            # Shutdown must never raise into the caller's exit path; say what failed.
            _logger.exception("telemetry shutdown failed")

    worker = threading.Thread(target=run, name="securenet-telemetry-shutdown", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        _logger.warning("telemetry shutdown exceeded %.1fs; unexported telemetry was abandoned", timeout_s)
        return False
    return True
