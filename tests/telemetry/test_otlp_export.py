"""Real setup_telemetry() exporting to an in-process OTLP receiver over gRPC and HTTP/protobuf."""

from __future__ import annotations

import asyncio
import logging

import pytest
import structlog
from opentelemetry.metrics import Meter

from securenet.telemetry import (
    Instruments,
    TelemetrySettings,
    setup_telemetry,
    shutdown_telemetry,
    trace_operation,
    traced,
)

PLANTED_KEY = "snk_Pl4nt3dK3yF0rT3st5_0123456789abcdefghijkl"


class Exported:
    def __init__(self, meter: Meter) -> None:
        self.findings = meter.create_counter("test.findings", unit="{finding}")


exported = Instruments("securenet.test", Exported)


@traced(name="analysis")
async def analysis() -> None:
    with trace_operation("analyzer.rules", **{"tenant.id": "acme"}):
        structlog.get_logger("securenet.test").warning("finding", rule_id="R1", api_key="sk-should-not-leave")
    await asyncio.sleep(0)


@traced(name="stream")
def stream():  # type: ignore[no-untyped-def]
    with trace_operation("stream.item"):
        yield 1


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_spans_metrics_and_logs_arrive_correlated(monkeypatch, otlp_receiver, protocol) -> None:
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    for key, value in {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        "OTEL_EXPORTER_OTLP_HEADERS": "x-scope-orgid=tenant-1",
        "OTEL_SERVICE_NAME": "securenet-test",
        "SECURENET_ENVIRONMENT": "ci",
    }.items():
        monkeypatch.setenv(key, value)
    settings = TelemetrySettings()
    setup_telemetry(settings)  # logging too: the OTLP log handler needs the logger provider
    try:
        asyncio.run(analysis())
        assert list(stream()) == [1]
        logging.getLogger("thirdparty.client").warning("stdlib line")
        try:
            raise RuntimeError(f"upstream refused Authorization: Bearer {PLANTED_KEY}")
        except RuntimeError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
            structlog.get_logger("securenet.api").exception("unhandled error")
        exported().findings.add(3, {"tenant.id": "acme", "threat.level": "critical"})
    finally:
        assert shutdown_telemetry(timeout_s=10) is True
        logging.getLogger().handlers.clear()

    spans = {s.name: s for s in otlp_receiver.spans()}
    assert {"analysis", "analyzer.rules", "stream", "stream.item"} <= set(spans)
    assert spans["analyzer.rules"].parent_span_id == spans["analysis"].span_id
    assert spans["stream.item"].parent_span_id == spans["stream"].span_id
    assert spans["analyzer.rules"].attributes["tenant.id"] == "acme"
    resource = spans["analysis"].resource
    assert resource["service.name"] == "securenet-test"
    assert resource["deployment.environment.name"] == "ci"
    for key in ("service.version", "service.instance.id", "host.name", "process.pid"):
        assert key in resource

    (finding,) = [log for log in otlp_receiver.logs() if log.body == "finding"]
    assert finding.trace_id == spans["analyzer.rules"].trace_id
    assert finding.span_id == spans["analyzer.rules"].span_id
    assert finding.attributes["rule_id"] == "R1"
    assert "sk-should-not-leave" not in str(otlp_receiver.logs())
    assert any(log.body == "stdlib line" and log.trace_id is None for log in otlp_receiver.logs())
    assert PLANTED_KEY not in str(otlp_receiver.logs())
    (stdlib_error,) = [log for log in otlp_receiver.logs() if log.body == "Exception in ASGI application"]
    assert stdlib_error.attributes["exception.type"] == "RuntimeError"
    assert stdlib_error.attributes["exception.message"] == "upstream refused Authorization: Bearer [secure]"
    assert "RuntimeError: upstream refused" in stdlib_error.attributes["exception.stacktrace"]
    (structlog_error,) = [log for log in otlp_receiver.logs() if log.body == "unhandled error"]
    assert "Authorization: Bearer [secure]" in structlog_error.attributes["exception.stacktrace"]
    assert structlog_error.attributes["exception.message"] == "upstream refused Authorization: Bearer [secure]"

    findings = [m for m in otlp_receiver.metrics() if m.name == "test.findings"]
    assert findings
    assert findings[-1].scope_name == "securenet.test"
    point = findings[-1].points[0]
    assert point["value"] == 3
    assert point["attributes"] == {"tenant.id": "acme", "threat.level": "critical"}
    assert any(h.get("x-scope-orgid") == "tenant-1" for h in otlp_receiver.headers_seen)
