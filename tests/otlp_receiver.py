"""An in-process OTLP receiver for tests, speaking both OTLP/gRPC and OTLP/HTTP (protobuf).

Start an :class:`OtlpReceiver`, point real OpenTelemetry exporters at
:attr:`OtlpReceiver.grpc_endpoint` or :attr:`OtlpReceiver.http_endpoint` (exporters append
``/v1/traces``, ``/v1/metrics`` and ``/v1/logs``), then inspect what arrived as plain Python
values through :meth:`OtlpReceiver.spans`, :meth:`OtlpReceiver.metrics`,
:meth:`OtlpReceiver.logs` and :meth:`OtlpReceiver.resources`.

Both servers listen on ``127.0.0.1`` with an ephemeral port and never on any other address.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import grpc
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

__all__ = ["OtlpReceiver", "ReceivedLog", "ReceivedMetric", "ReceivedSpan"]

_LOOPBACK: Final = "127.0.0.1"
_PROTOBUF_CONTENT_TYPE: Final = "application/x-protobuf"
_POLL_INTERVAL_SECONDS: Final = 0.02


# --------------------------------------------------------------------------------------------
# Decoded records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    kind: int
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    links: list[tuple[str, str, dict[str, Any]]]
    status_code: int
    status_message: str
    resource: dict[str, Any]
    scope_name: str
    start_time_unix_nano: int
    end_time_unix_nano: int


@dataclass(frozen=True)
class ReceivedMetric:
    """One metric of one export.

    ``points`` holds one dict per data point with the keys ``attributes``, ``value``
    (sum/gauge), ``count`` and ``sum`` (histograms and summaries), ``bucket_counts`` and
    ``explicit_bounds`` (explicit-bucket histograms); keys that do not apply are ``None``.
    """

    name: str
    unit: str
    description: str
    kind: str
    points: list[dict[str, Any]]
    resource: dict[str, Any]
    scope_name: str


@dataclass(frozen=True)
class ReceivedLog:
    body: Any
    severity_text: str
    severity_number: int
    attributes: dict[str, Any]
    trace_id: str | None
    span_id: str | None
    resource: dict[str, Any]
    scope_name: str


# --------------------------------------------------------------------------------------------
# Protobuf -> plain Python decoding
# --------------------------------------------------------------------------------------------


def _decode_any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_decode_any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _decode_attributes(value.kvlist_value.values)
    # string_value, bool_value, int_value, double_value, bytes_value
    return getattr(value, kind)


def _decode_attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: _decode_any_value(pair.value) for pair in pairs}


def _decode_resource(resource: Resource) -> dict[str, Any]:
    return _decode_attributes(resource.attributes)


def _hex_id(raw: bytes) -> str | None:
    """Hex-encode a trace/span id; an empty or all-zero id (meaning "unset") becomes ``None``."""
    if not raw or not any(raw):
        return None
    return raw.hex()


def _number_point(point: metrics_pb2.NumberDataPoint) -> dict[str, Any]:
    which = point.WhichOneof("value")
    value: int | float | None = None if which is None else getattr(point, which)
    return {
        "attributes": _decode_attributes(point.attributes),
        "value": value,
        "count": None,
        "sum": None,
        "bucket_counts": None,
        "explicit_bounds": None,
    }


def _histogram_point(point: metrics_pb2.HistogramDataPoint) -> dict[str, Any]:
    return {
        "attributes": _decode_attributes(point.attributes),
        "value": None,
        "count": point.count,
        "sum": point.sum if point.HasField("sum") else None,
        "bucket_counts": list(point.bucket_counts),
        "explicit_bounds": list(point.explicit_bounds),
    }


def _exponential_histogram_point(point: metrics_pb2.ExponentialHistogramDataPoint) -> dict[str, Any]:
    return {
        "attributes": _decode_attributes(point.attributes),
        "value": None,
        "count": point.count,
        "sum": point.sum if point.HasField("sum") else None,
        "bucket_counts": None,
        "explicit_bounds": None,
    }


def _summary_point(point: metrics_pb2.SummaryDataPoint) -> dict[str, Any]:
    return {
        "attributes": _decode_attributes(point.attributes),
        "value": None,
        "count": point.count,
        "sum": point.sum,
        "bucket_counts": None,
        "explicit_bounds": None,
    }


def _metric_points(metric: metrics_pb2.Metric) -> tuple[str, list[dict[str, Any]]]:
    kind = metric.WhichOneof("data")
    if kind == "sum":
        return kind, [_number_point(p) for p in metric.sum.data_points]
    if kind == "gauge":
        return kind, [_number_point(p) for p in metric.gauge.data_points]
    if kind == "histogram":
        return kind, [_histogram_point(p) for p in metric.histogram.data_points]
    if kind == "exponential_histogram":
        return kind, [_exponential_histogram_point(p) for p in metric.exponential_histogram.data_points]
    if kind == "summary":
        return kind, [_summary_point(p) for p in metric.summary.data_points]
    raise ValueError(f"metric {metric.name!r} carries no data (oneof 'data' is unset)")


def _decode_spans(
    request: trace_service_pb2.ExportTraceServiceRequest,
) -> tuple[list[ReceivedSpan], list[dict[str, Any]]]:
    spans: list[ReceivedSpan] = []
    resources: list[dict[str, Any]] = []
    for resource_spans in request.resource_spans:
        resource = _decode_resource(resource_spans.resource)
        resources.append(resource)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=_hex_id(span.parent_span_id),
                        kind=span.kind,
                        attributes=_decode_attributes(span.attributes),
                        events=[(event.name, _decode_attributes(event.attributes)) for event in span.events],
                        links=[
                            (link.trace_id.hex(), link.span_id.hex(), _decode_attributes(link.attributes))
                            for link in span.links
                        ],
                        status_code=span.status.code,
                        status_message=span.status.message,
                        resource=resource,
                        scope_name=scope_spans.scope.name,
                        start_time_unix_nano=span.start_time_unix_nano,
                        end_time_unix_nano=span.end_time_unix_nano,
                    )
                )
    return spans, resources


def _decode_metrics(
    request: metrics_service_pb2.ExportMetricsServiceRequest,
) -> tuple[list[ReceivedMetric], list[dict[str, Any]]]:
    metrics: list[ReceivedMetric] = []
    resources: list[dict[str, Any]] = []
    for resource_metrics in request.resource_metrics:
        resource = _decode_resource(resource_metrics.resource)
        resources.append(resource)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind, points = _metric_points(metric)
                metrics.append(
                    ReceivedMetric(
                        name=metric.name,
                        unit=metric.unit,
                        description=metric.description,
                        kind=kind,
                        points=points,
                        resource=resource,
                        scope_name=scope_metrics.scope.name,
                    )
                )
    return metrics, resources


def _decode_logs(
    request: logs_service_pb2.ExportLogsServiceRequest,
) -> tuple[list[ReceivedLog], list[dict[str, Any]]]:
    logs: list[ReceivedLog] = []
    resources: list[dict[str, Any]] = []
    for resource_logs in request.resource_logs:
        resource = _decode_resource(resource_logs.resource)
        resources.append(resource)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                logs.append(
                    ReceivedLog(
                        body=_decode_any_value(record.body),
                        severity_text=record.severity_text,
                        severity_number=record.severity_number,
                        attributes=_decode_attributes(record.attributes),
                        trace_id=_hex_id(record.trace_id),
                        span_id=_hex_id(record.span_id),
                        resource=resource,
                        scope_name=scope_logs.scope.name,
                    )
                )
    return logs, resources


# --------------------------------------------------------------------------------------------
# gRPC transport
# --------------------------------------------------------------------------------------------


def _grpc_metadata(context: grpc.ServicerContext) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)
        headers[key.lower()] = text
    return headers


class _TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self._receiver._record_traces(request, _grpc_metadata(context))
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsServicer(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(
        self, request: metrics_service_pb2.ExportMetricsServiceRequest, context: grpc.ServicerContext
    ) -> metrics_service_pb2.ExportMetricsServiceResponse:
        try:
            self._receiver._record_metrics(request, _grpc_metadata(context))
        except ValueError as exc:  # a metric without data
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _LogsServicer(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(
        self, request: logs_service_pb2.ExportLogsServiceRequest, context: grpc.ServicerContext
    ) -> logs_service_pb2.ExportLogsServiceResponse:
        self._receiver._record_logs(request, _grpc_metadata(context))
        return logs_service_pb2.ExportLogsServiceResponse()


# --------------------------------------------------------------------------------------------
# HTTP/protobuf transport
# --------------------------------------------------------------------------------------------


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding in ("", "identity", "none"):
            return body
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)  # zlib-wrapped deflate (RFC 1950), what HTTP means
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, sent by some clients
    except (OSError, EOFError, zlib.error) as exc:
        raise _HttpError(400, f"cannot decode {encoding} body: {exc}") from exc
    raise _HttpError(415, f"unsupported Content-Encoding {encoding!r}")


class _OtlpHttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    receiver: OtlpReceiver


class _OtlpHttpHandler(http.server.BaseHTTPRequestHandler):
    """Handles ``POST /v1/{traces,metrics,logs}``; one request per connection (HTTP/1.0)."""

    server: _OtlpHttpServer
    timeout = 10  # seconds a silent client may hold a handler thread

    def do_POST(self) -> None:
        try:
            body = self._read_body()  # always drain the body, even when rejecting the request
            response = self._handle(body)
        except _HttpError as exc:
            self.send_error(exc.status, exc.message)
            return
        payload = response.SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", _PROTOBUF_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self, raw_body: bytes) -> Any:
        path = self.path.split("?", 1)[0].rstrip("/")
        receiver = self.server.receiver
        if path not in ("/v1/traces", "/v1/metrics", "/v1/logs"):
            raise _HttpError(404, f"unknown OTLP path {path!r}")
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type != _PROTOBUF_CONTENT_TYPE:
            raise _HttpError(415, f"only {_PROTOBUF_CONTENT_TYPE} is supported, got {content_type!r}")
        body = _decompress(raw_body, self.headers.get("Content-Encoding", ""))
        headers = self._lower_case_headers()
        try:
            if path == "/v1/traces":
                traces = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                receiver._record_traces(traces, headers)
                return trace_service_pb2.ExportTraceServiceResponse()
            if path == "/v1/metrics":
                metrics = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                receiver._record_metrics(metrics, headers)
                return metrics_service_pb2.ExportMetricsServiceResponse()
            logs = logs_service_pb2.ExportLogsServiceRequest.FromString(body)
            receiver._record_logs(logs, headers)
            return logs_service_pb2.ExportLogsServiceResponse()
        except (DecodeError, ValueError) as exc:  # ValueError: a metric without data
            raise _HttpError(400, f"malformed OTLP request for {path}: {exc}") from exc

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").strip().lower() == "chunked":
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise _HttpError(411, "Content-Length or chunked Transfer-Encoding required")
        try:
            length = int(length_header)
        except ValueError as exc:
            raise _HttpError(400, f"invalid Content-Length {length_header!r}") from exc
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size_line = self.rfile.readline().split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError as exc:
                raise _HttpError(400, f"invalid chunk size {size_line!r}") from exc
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # skip trailers
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # CRLF closing the chunk

    def _lower_case_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            name = key.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return headers

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; failures surface through status codes and assertions."""


# --------------------------------------------------------------------------------------------
# Receiver
# --------------------------------------------------------------------------------------------


class OtlpReceiver:
    """In-process OTLP receiver serving OTLP/gRPC and OTLP/HTTP (protobuf) on loopback.

    Usable directly (``start()`` / ``stop()``) or as a context manager. All accessors return
    snapshots, so they are safe to call while exports are still arriving.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self._metrics: list[ReceivedMetric] = []
        self._logs: list[ReceivedLog] = []
        self._resources: list[dict[str, Any]] = []
        self._headers_seen: list[dict[str, str]] = []
        self._grpc_server: grpc.Server | None = None
        self._grpc_executor: ThreadPoolExecutor | None = None
        self._http_server: _OtlpHttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc_port: int | None = None
        self._http_port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> OtlpReceiver:
        """Start the gRPC and HTTP servers on free loopback ports; returns ``self``."""
        if self._grpc_server is not None or self._http_server is not None:
            raise RuntimeError("OtlpReceiver is already started")
        try:
            self._start_grpc()
            self._start_http()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers and release their threads and sockets. Safe to call repeatedly."""
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_server = None
        if self._http_thread is not None:
            self._http_thread.join()
            self._http_thread = None
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait()
            self._grpc_server = None
        if self._grpc_executor is not None:
            self._grpc_executor.shutdown(wait=True)
            self._grpc_executor = None
        self._grpc_port = None
        self._http_port = None

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _start_grpc(self) -> None:
        self._grpc_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="otlp-grpc")
        server = grpc.server(self._grpc_executor, options=[("grpc.so_reuseport", 0)])
        self._grpc_server = server
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), server)  # type: ignore[no-untyped-call]
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsServicer(self), server)  # type: ignore[no-untyped-call]
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsServicer(self), server)  # type: ignore[no-untyped-call]
        port = server.add_insecure_port(f"{_LOOPBACK}:0")
        if not port:
            raise RuntimeError(f"gRPC server could not bind {_LOOPBACK}:0")
        server.start()
        self._grpc_port = port

    def _start_http(self) -> None:
        server = _OtlpHttpServer((_LOOPBACK, 0), _OtlpHttpHandler)
        server.receiver = self
        self._http_server = server
        self._http_port = server.server_address[1]
        self._http_thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="otlp-http",
            daemon=True,
        )
        self._http_thread.start()

    # -- endpoints ---------------------------------------------------------------------------

    @property
    def grpc_endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` of the OTLP/gRPC server (use ``insecure=True``)."""
        if self._grpc_port is None:
            raise RuntimeError("OtlpReceiver is not started")
        return f"http://{_LOOPBACK}:{self._grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL of the OTLP/HTTP server; append ``/v1/traces``, ``/v1/metrics`` or ``/v1/logs``."""
        if self._http_port is None:
            raise RuntimeError("OtlpReceiver is not started")
        return f"http://{_LOOPBACK}:{self._http_port}"

    # -- recording (called from server worker threads) ----------------------------------------

    def _record_traces(self, request: trace_service_pb2.ExportTraceServiceRequest, headers: dict[str, str]) -> None:
        spans, resources = _decode_spans(request)
        with self._lock:
            self._headers_seen.append(headers)
            self._spans.extend(spans)
            self._add_resources(resources)

    def _record_metrics(
        self, request: metrics_service_pb2.ExportMetricsServiceRequest, headers: dict[str, str]
    ) -> None:
        metrics, resources = _decode_metrics(request)
        with self._lock:
            self._headers_seen.append(headers)
            self._metrics.extend(metrics)
            self._add_resources(resources)

    def _record_logs(self, request: logs_service_pb2.ExportLogsServiceRequest, headers: dict[str, str]) -> None:
        logs, resources = _decode_logs(request)
        with self._lock:
            self._headers_seen.append(headers)
            self._logs.extend(logs)
            self._add_resources(resources)

    def _add_resources(self, resources: Sequence[dict[str, Any]]) -> None:
        """Remember each distinct resource once, in the order first seen. Caller holds the lock."""
        for resource in resources:
            if resource not in self._resources:
                self._resources.append(resource)

    # -- inspection --------------------------------------------------------------------------

    @property
    def headers_seen(self) -> list[dict[str, str]]:
        """Headers (HTTP) or metadata (gRPC) of every export so far, keys in lower case."""
        with self._lock:
            return [dict(headers) for headers in self._headers_seen]

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def metrics(self) -> list[ReceivedMetric]:
        with self._lock:
            return list(self._metrics)

    def logs(self) -> list[ReceivedLog]:
        with self._lock:
            return list(self._logs)

    def resources(self) -> list[dict[str, Any]]:
        """Distinct resource attribute dicts seen on any signal, in the order first seen."""
        with self._lock:
            return [dict(resource) for resource in self._resources]

    def clear(self) -> None:
        """Forget everything received so far (the servers keep running)."""
        with self._lock:
            self._spans.clear()
            self._metrics.clear()
            self._logs.clear()
            self._resources.clear()
            self._headers_seen.clear()

    def wait_for(self, predicate: Callable[[OtlpReceiver], bool], timeout: float = 10.0) -> None:
        """Poll until ``predicate(self)`` is true.

        An exception raised by the predicate (say, an ``IndexError`` while nothing has arrived
        yet) counts as "not yet". On timeout an ``AssertionError`` describes what did arrive.
        """
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                if predicate(self):
                    return
                last_error = None
            except Exception as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_INTERVAL_SECONDS)
        name = getattr(predicate, "__qualname__", repr(predicate))
        detail = f"; last call raised {last_error!r}" if last_error is not None else ""
        raise AssertionError(
            f"OTLP receiver: condition {name} not met within {timeout:.1f}s{detail}\n{self._describe()}"
        )

    def _describe(self) -> str:
        with self._lock:
            span_names = [span.name for span in self._spans]
            metric_names = sorted({metric.name for metric in self._metrics})
            log_bodies = [_shorten(repr(log.body)) for log in self._logs]
            resources = list(self._resources)
            exports = len(self._headers_seen)
        return "\n".join(
            [
                f"  exports received: {exports}",
                f"  spans ({len(span_names)}): {_shorten(repr(span_names), 400)}",
                f"  metrics ({len(metric_names)} names): {_shorten(repr(metric_names), 400)}",
                f"  logs ({len(log_bodies)}): {_shorten(repr(log_bodies), 400)}",
                f"  resources ({len(resources)}): {_shorten(repr(resources), 400)}",
            ]
        )


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
