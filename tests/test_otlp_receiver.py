"""The in-process OTLP receiver, exercised with the real OpenTelemetry SDK exporters."""

from __future__ import annotations

import gzip
import http.client
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ResourceProto
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests import otlp_fixtures
from tests.otlp_receiver import OtlpReceiver

# The shared fixture, made visible here whether or not conftest.py re-exports it.
otlp_receiver = otlp_fixtures.otlp_receiver


ProviderFactory = Callable[[SpanExporter, str], TracerProvider]


def _resource(service: str) -> Resource:
    return Resource.create({"service.name": service, "deployment.environment": "test"})


def _hex_trace_id(trace_id: int) -> str:
    return format(trace_id, "032x")


def _hex_span_id(span_id: int) -> str:
    return format(span_id, "016x")


@pytest.fixture
def tracer_provider_factory() -> Iterator[ProviderFactory]:
    """Builds local (never global) TracerProviders and shuts them all down after the test."""
    providers: list[TracerProvider] = []

    def make(exporter: SpanExporter, service: str) -> TracerProvider:
        provider = TracerProvider(resource=_resource(service))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        provider.shutdown()


def _emit_parent_and_child(provider: TracerProvider) -> tuple[str, str, str]:
    """Creates ``parent`` -> ``child``; returns (trace id, parent span id, child span id) in hex."""
    tracer = provider.get_tracer("receiver-test-scope")
    with tracer.start_as_current_span(
        "parent", kind=SpanKind.SERVER, attributes={"http.route": "/items", "retry": 2}
    ) as parent:
        with tracer.start_as_current_span("child", kind=SpanKind.CLIENT) as child:
            child.set_attribute("db.system", "sqlite")
            child.set_attribute("ratio", 0.5)
            child.set_attribute("cached", True)
            child.set_attribute("tags", ["a", "b"])
            child.add_event("cache.miss", {"key": "k1"})
            child.set_status(StatusCode.ERROR, "boom")
        parent_context = parent.get_span_context()
        child_context = child.get_span_context()
    return (
        _hex_trace_id(parent_context.trace_id),
        _hex_span_id(parent_context.span_id),
        _hex_span_id(child_context.span_id),
    )


def _assert_parent_and_child(receiver: OtlpReceiver, ids: tuple[str, str, str], service: str) -> None:
    trace_id, parent_id, child_id = ids
    receiver.wait_for(lambda r: {s.name for s in r.spans()} >= {"parent", "child"})
    spans = {span.name: span for span in receiver.spans()}
    parent, child = spans["parent"], spans["child"]

    assert parent.trace_id == child.trace_id == trace_id
    assert parent.span_id == parent_id
    assert parent.parent_span_id is None
    assert child.span_id == child_id
    assert child.parent_span_id == parent_id
    assert parent.kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert child.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert parent.attributes == {"http.route": "/items", "retry": 2}
    assert child.attributes == {"db.system": "sqlite", "ratio": 0.5, "cached": True, "tags": ["a", "b"]}
    assert child.events == [("cache.miss", {"key": "k1"})]
    assert child.status_code == trace_pb2.Status.STATUS_CODE_ERROR
    assert child.status_message == "boom"
    assert child.scope_name == "receiver-test-scope"
    assert 0 < parent.start_time_unix_nano <= child.start_time_unix_nano
    assert child.end_time_unix_nano <= parent.end_time_unix_nano
    for span in (parent, child):
        assert span.resource["service.name"] == service
        assert span.resource["deployment.environment"] == "test"
    assert service in [resource.get("service.name") for resource in receiver.resources()]


def test_traces_over_grpc(otlp_receiver: OtlpReceiver, tracer_provider_factory: ProviderFactory) -> None:
    exporter = GrpcSpanExporter(
        endpoint=otlp_receiver.grpc_endpoint, insecure=True, headers={"x-test-token": "grpc-secret"}
    )
    provider = tracer_provider_factory(exporter, "svc-grpc")

    ids = _emit_parent_and_child(provider)

    _assert_parent_and_child(otlp_receiver, ids, "svc-grpc")
    assert any(headers.get("x-test-token") == "grpc-secret" for headers in otlp_receiver.headers_seen)


@pytest.mark.parametrize(
    ("compression", "expected_encoding"),
    [(None, None), (Compression.Gzip, "gzip"), (Compression.Deflate, "deflate")],
    ids=["plain", "gzip", "deflate"],
)
def test_traces_over_http(
    otlp_receiver: OtlpReceiver,
    tracer_provider_factory: ProviderFactory,
    compression: Compression | None,
    expected_encoding: str | None,
) -> None:
    exporter = HttpSpanExporter(
        endpoint=otlp_receiver.http_endpoint + "/v1/traces",
        compression=compression,
        headers={"X-Test-Token": "http-secret"},
    )
    provider = tracer_provider_factory(exporter, "svc-http")

    ids = _emit_parent_and_child(provider)

    _assert_parent_and_child(otlp_receiver, ids, "svc-http")
    headers_seen = otlp_receiver.headers_seen
    assert headers_seen
    for headers in headers_seen:
        assert headers["x-test-token"] == "http-secret"  # keys are lower-cased
        assert headers["content-type"] == "application/x-protobuf"
        assert headers.get("content-encoding") == expected_encoding


def test_metrics_over_http(otlp_receiver: OtlpReceiver) -> None:
    reader = PeriodicExportingMetricReader(
        HttpMetricExporter(endpoint=otlp_receiver.http_endpoint + "/v1/metrics"),
        export_interval_millis=3_600_000,  # export only on force_flush / shutdown
    )
    provider = MeterProvider(resource=_resource("svc-metrics"), metric_readers=[reader])
    try:
        meter = provider.get_meter("metrics-scope")
        requests = meter.create_counter("requests", unit="{request}", description="Requests handled")
        latency = meter.create_histogram("latency", unit="ms")
        in_flight = meter.create_up_down_counter("in_flight")
        temperature = meter.create_gauge("temperature", unit="Cel")

        requests.add(2, {"route": "/a"})
        requests.add(3, {"route": "/a"})
        requests.add(1, {"route": "/b"})
        latency.record(3.0, {"route": "/a"})
        latency.record(7.0, {"route": "/a"})
        in_flight.add(4)
        in_flight.add(-1)
        temperature.set(21.5, {"room": "lab"})

        assert provider.force_flush()
        otlp_receiver.wait_for(
            lambda r: {m.name for m in r.metrics()} >= {"requests", "latency", "in_flight", "temperature"}
        )
    finally:
        provider.shutdown()

    metrics = {metric.name: metric for metric in otlp_receiver.metrics()}

    counter = metrics["requests"]
    assert (counter.kind, counter.unit, counter.description) == ("sum", "{request}", "Requests handled")
    assert counter.scope_name == "metrics-scope"
    assert counter.resource["service.name"] == "svc-metrics"
    by_route = {point["attributes"]["route"]: point["value"] for point in counter.points}
    assert by_route == {"/a": 5, "/b": 1}

    histogram = metrics["latency"]
    assert histogram.kind == "histogram"
    assert histogram.unit == "ms"
    [point] = histogram.points
    assert point["attributes"] == {"route": "/a"}
    assert point["value"] is None
    assert point["count"] == 2
    assert point["sum"] == pytest.approx(10.0)
    assert sum(point["bucket_counts"]) == 2
    assert len(point["bucket_counts"]) == len(point["explicit_bounds"]) + 1

    [up_down] = metrics["in_flight"].points
    assert metrics["in_flight"].kind == "sum"
    assert up_down["value"] == 3

    gauge = metrics["temperature"]
    assert gauge.kind == "gauge"
    assert [(p["attributes"], p["value"]) for p in gauge.points] == [({"room": "lab"}, 21.5)]

    assert {"service.name": "svc-metrics"}.items() <= otlp_receiver.resources()[0].items()


def test_logs_over_grpc_correlate_with_span(otlp_receiver: OtlpReceiver) -> None:
    tracer_provider = TracerProvider(resource=_resource("svc-logs"))
    logger_provider = LoggerProvider(resource=_resource("svc-logs"))
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(GrpcLogExporter(endpoint=otlp_receiver.grpc_endpoint, insecure=True))
    )
    try:
        logger = logger_provider.get_logger("logs-scope")
        with tracer_provider.get_tracer("t").start_as_current_span("work") as span:
            logger.emit(
                body="cache refreshed",
                severity_number=SeverityNumber.WARN,
                severity_text="WARN",
                attributes={"entries": 12, "source": "db"},
            )
            span_context = span.get_span_context()
        logger.emit(body={"event": "structured", "values": [1, 2.5, "x"], "raw": b"\x00\x01"})

        otlp_receiver.wait_for(lambda r: len(r.logs()) >= 2)
    finally:
        logger_provider.shutdown()
        tracer_provider.shutdown()

    inside, outside = otlp_receiver.logs()
    assert inside.body == "cache refreshed"
    assert inside.severity_text == "WARN"
    assert inside.severity_number == SeverityNumber.WARN.value
    assert inside.attributes == {"entries": 12, "source": "db"}
    assert inside.trace_id == _hex_trace_id(span_context.trace_id)
    assert inside.span_id == _hex_span_id(span_context.span_id)
    assert inside.scope_name == "logs-scope"
    assert inside.resource["service.name"] == "svc-logs"

    assert outside.body == {"event": "structured", "values": [1, 2.5, "x"], "raw": b"\x00\x01"}
    assert outside.trace_id is None
    assert outside.span_id is None

    assert [resource["service.name"] for resource in otlp_receiver.resources()] == ["svc-logs"]


# --- raw HTTP behaviour --------------------------------------------------------------------


def _post(receiver: OtlpReceiver, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    host_port = receiver.http_endpoint.removeprefix("http://")
    connection = http.client.HTTPConnection(host_port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def _handmade_trace_request() -> bytes:
    def attribute(key: str, value: AnyValue) -> KeyValue:
        return KeyValue(key=key, value=value)

    span = trace_pb2.Span(
        name="handmade",
        trace_id=bytes(range(1, 17)),
        span_id=bytes(range(1, 9)),
        attributes=[
            attribute("blob", AnyValue(bytes_value=b"\xff")),
            attribute("list", AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)]))),
            attribute(
                "map",
                AnyValue(kvlist_value=KeyValueList(values=[attribute("k", AnyValue(bool_value=False))])),
            ),
            attribute("empty", AnyValue()),
        ],
        links=[trace_pb2.Span.Link(trace_id=b"\x0a" * 16, span_id=b"\x0b" * 8)],
    )
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=ResourceProto(attributes=[attribute("service.name", AnyValue(string_value="raw"))]),
                scope_spans=[trace_pb2.ScopeSpans(spans=[span])],
            )
        ]
    )
    return bytes(request.SerializeToString())


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate stream, no zlib wrapper
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
def test_http_decodes_compressed_bodies_and_all_value_types(
    otlp_receiver: OtlpReceiver, encoding: str, compress: Any
) -> None:
    status, body, headers = _post(
        otlp_receiver,
        "/v1/traces",
        compress(_handmade_trace_request()),
        {"Content-Type": "application/x-protobuf", "Content-Encoding": encoding},
    )

    assert status == 200
    assert headers["content-type"] == "application/x-protobuf"
    assert trace_service_pb2.ExportTraceServiceResponse.FromString(body) == (
        trace_service_pb2.ExportTraceServiceResponse()
    )
    [span] = otlp_receiver.spans()
    assert span.trace_id == bytes(range(1, 17)).hex()
    assert span.span_id == "0102030405060708"
    assert span.parent_span_id is None
    assert span.attributes == {"blob": b"\xff", "list": [1], "map": {"k": False}, "empty": None}
    assert span.links == [("0a" * 16, "0b" * 8, {})]
    assert span.resource == {"service.name": "raw"}
    assert otlp_receiver.headers_seen[0]["content-encoding"] == encoding


@pytest.mark.parametrize(
    ("path", "content_type", "body", "expected_status"),
    [
        ("/v1/unknown", "application/x-protobuf", b"", 404),
        ("/", "application/x-protobuf", b"", 404),
        ("/v1/traces", "application/json", b"{}", 415),
        ("/v1/traces", "application/x-protobuf", b"\xff\xff\xff", 400),
    ],
    ids=["unknown-path", "root", "json", "garbage"],
)
def test_http_rejects_bad_requests(
    otlp_receiver: OtlpReceiver, path: str, content_type: str, body: bytes, expected_status: int
) -> None:
    status, _, _ = _post(otlp_receiver, path, body, {"Content-Type": content_type})

    assert status == expected_status
    assert otlp_receiver.spans() == []
    assert otlp_receiver.headers_seen == []


def test_metric_without_data_is_rejected(otlp_receiver: OtlpReceiver) -> None:
    request = metrics_service_pb2.ExportMetricsServiceRequest(
        resource_metrics=[
            metrics_pb2.ResourceMetrics(
                scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[metrics_pb2.Metric(name="x")])]
            )
        ]
    )

    status, _, _ = _post(
        otlp_receiver, "/v1/metrics", request.SerializeToString(), {"Content-Type": "application/x-protobuf"}
    )

    assert status == 400
    assert otlp_receiver.metrics() == []


def test_empty_export_is_accepted(otlp_receiver: OtlpReceiver) -> None:
    for path in ("/v1/traces", "/v1/metrics", "/v1/logs"):
        status, body, _ = _post(otlp_receiver, path, b"", {"Content-Type": "application/x-protobuf"})
        assert (status, body) == (200, b"")
    assert len(otlp_receiver.headers_seen) == 3
    assert otlp_receiver.resources() == []


# --- receiver API ----------------------------------------------------------------------------


def test_wait_for_times_out_with_summary_and_clear_resets(otlp_receiver: OtlpReceiver) -> None:
    status, _, _ = _post(
        otlp_receiver, "/v1/traces", _handmade_trace_request(), {"Content-Type": "application/x-protobuf"}
    )
    assert status == 200

    with pytest.raises(AssertionError, match=r"(?s)not met within 0\.2s.*spans \(1\): \['handmade'\]"):
        otlp_receiver.wait_for(lambda r: r.spans()[0].name == "other", timeout=0.2)
    with pytest.raises(AssertionError, match="last call raised IndexError"):
        otlp_receiver.wait_for(lambda r: r.logs()[0].body == "never", timeout=0.1)

    otlp_receiver.clear()
    assert otlp_receiver.spans() == []
    assert otlp_receiver.resources() == []
    assert otlp_receiver.headers_seen == []


def test_lifecycle_binds_loopback_only() -> None:
    receiver = OtlpReceiver()
    with pytest.raises(RuntimeError, match="not started"):
        _ = receiver.grpc_endpoint

    with receiver:
        assert receiver.grpc_endpoint.startswith("http://127.0.0.1:")
        assert receiver.http_endpoint.startswith("http://127.0.0.1:")
        assert receiver.grpc_endpoint != receiver.http_endpoint
        with pytest.raises(RuntimeError, match="already started"):
            receiver.start()

    with pytest.raises(RuntimeError, match="not started"):
        _ = receiver.http_endpoint
    receiver.stop()  # idempotent
