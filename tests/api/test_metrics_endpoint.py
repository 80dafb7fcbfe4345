"""/metrics is Prometheus-parseable and carries the documented names; dropped spans are counted."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from securenet.api import create_app
from securenet.telemetry import get_metrics, trace_operation


def scrape(client: TestClient) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {}
    for family in text_string_to_metric_families(response.text):
        families[family.name] = family.samples
    return families


def test_documented_metric_names_and_labels() -> None:
    with TestClient(create_app()) as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/no/such/route").status_code == 404
        metrics = get_metrics()
        metrics.record_threat_detection("acme", "high", count=2)
        metrics.record_detection_duration("acme", 0.012)
        metrics.record_network_scan("port_scan", "127.0.0.0/30", success=True)
        metrics.update_active_threats("acme", 3)
        families = scrape(client)

    detections = {s.labels["threat_level"]: s.value for s in families["threat_detections"] if s.name.endswith("_total")}
    assert detections == {"high": 2.0}
    (scan,) = [s for s in families["network_scans"] if s.name == "network_scans_total"]
    assert scan.labels["scan_type"] == "port_scan"
    assert scan.labels["target_type"] == "network"
    assert scan.labels["success"] == "true"
    assert "127.0.0.0" not in str(families["network_scans"])  # raw targets never become labels
    (active,) = families["active_threats"]
    assert (active.labels["tenant_id"], active.value) == ("acme", 3.0)
    buckets = [s for s in families["threat_detection_duration_seconds"] if s.name.endswith("_bucket")]
    assert any(s.labels["le"] == "0.025" and s.value == 1.0 for s in buckets)
    requests = {(s.labels["http_route"], s.labels["http_response_status_code"]) for s in families["api_requests"]}
    assert ("/openapi.json", "200") in requests
    assert ("unmatched", "404") in requests  # raw paths never become labels
    assert not any(route == "/metrics" for route, _ in requests)


def test_dropped_spans_are_visible_as_a_metric(telemetry, black_hole) -> None:
    # A backend that never answers: the export worker blocks, the bounded queue fills.
    telemetry(
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{black_hole}/v1/traces",
        OTEL_EXPORTER_OTLP_TIMEOUT="30000",
        OTEL_BSP_MAX_QUEUE_SIZE="4",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="2",
        OTEL_BSP_SCHEDULE_DELAY="10",
    )
    for _ in range(50):
        with trace_operation("flood"):
            pass
    with TestClient(create_app()) as client:
        families = scrape(client)
    dropped = [
        s
        for s in families["otel_sdk_processor_span_processed"]
        if s.labels.get("error_type") == "queue_full" and s.name.endswith("_total")
    ]
    assert dropped and sum(s.value for s in dropped) >= 40
    # Per-span SDK metrics stay off: they would cost more than the span itself.
    assert "otel_sdk_span_started" not in families
