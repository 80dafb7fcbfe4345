"""ThreatDetectionService: verdicts and the spans that explain them (in-memory exporter)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from securenet.netsec.flows import flows_to_frame
from securenet.netsec.models import FlowAnomalyDetector
from securenet.netsec.readers import read_all
from securenet.netsec.service import ThreatDetectionService
from securenet.telemetry import trace_operation
from tests.netsec.kdd import kdd_lines, write_kdd
from tests.netsec.traffic import background_and_scan


@pytest.fixture(scope="module")
def kdd(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = write_kdd(tmp_path_factory.mktemp("kdd") / "slice.txt", kdd_lines(4000))
    chunk = read_all(path, "nsl-kdd")
    train, test = chunk.frame.iloc[:2500], chunk.frame.iloc[2500:].reset_index(drop=True)
    labels = chunk.labels.iloc[2500:].reset_index(drop=True)
    normal = chunk.labels.iloc[:2500].eq("normal").to_numpy()
    detector = FlowAnomalyDetector(n_estimators=50, max_reference_rows=2000).fit(train.loc[normal])
    return detector, test, labels


def test_analysis_is_one_trace_with_the_documented_spans(telemetry, kdd) -> None:
    t = telemetry()
    detector, test, labels = kdd
    service = ThreatDetectionService(detector, max_span_events=5)
    with trace_operation("request"):
        result = asyncio.run(service.analyze_network_data(test, tenant_id="acme"))

    verdicts = result.verdicts
    assert len(verdicts) == len(test)
    is_attack = labels.ne("normal").to_numpy()
    assert roc_auc_score(is_attack, verdicts.score) > 0.85
    assert verdicts.threat_count > 0

    root = t.by_name("threat_detection.analyze_network_data")
    assert root.parent.span_id == t.by_name("request").context.span_id
    for child in ("prepare_data", "ml_inference", "post_process_results"):
        assert t.by_name(child).parent.span_id == root.context.span_id
    attrs = root.attributes
    assert attrs["tenant.id"] == "acme"
    assert attrs["data.size"] == len(test)
    assert attrs["model.type"] == "knn+iforest"
    assert attrs["model.version"] == detector.created_at
    assert attrs["results.threat_count"] == verdicts.threat_count
    assert attrs["results.max_severity"] == verdicts.max_level
    # The seeds' trace_threat_detection decorator makes this span and records the outcome.
    assert attrs["operation.name"] == "analyze_network_data"
    assert attrs["operation.type"] == "threat_detection"
    assert attrs["threats.detected"] == verdicts.threat_count
    assert attrs["threats.max_severity"] == verdicts.max_level
    events = [e for e in root.events if e.name == "anomaly detected"]
    assert len(events) == 5
    assert attrs["anomaly.events_dropped"] == verdicts.threat_count - 5
    assert all(e.attributes["anomaly.detectors"] for e in events)
    scores = [e.attributes["anomaly.score"] for e in events]
    assert scores == sorted(scores, reverse=True)  # most severe first


def test_stream_chunks_and_rules_only(telemetry) -> None:
    t = telemetry()
    service = ThreatDetectionService()  # no model: the rules still run
    chunk = [
        {
            "ts": 100.0 + i * 0.01,
            "orig_h": "10.1.1.1",
            "resp_h": "10.1.1.2",
            "resp_p": i + 1,
            "proto": "tcp",
            "conn_state": "REJ",
        }
        for i in range(80)
    ]
    result = service.analyze(chunk, "t2")
    assert result.threat_count == 80
    assert result.verdicts.incidents[0].source == "10.1.1.1"
    span = t.by_name("threat_detection.analyze_network_data")
    assert span.attributes["model.type"] == "rules_only"
    assert "10.1.1.1" not in str(span.attributes) + str([e.attributes for e in span.events])


def test_metrics_record_levels_and_duration(telemetry) -> None:
    telemetry()
    from fastapi.testclient import TestClient
    from prometheus_client.parser import text_string_to_metric_families

    from securenet.api import create_app

    service = ThreatDetectionService()
    chunk = [
        {"ts": 5.0, "orig_h": "10.2.2.2", "resp_h": "10.2.2.3", "resp_p": p, "conn_state": "S0", "proto": "tcp"}
        for p in range(1, 70)
    ]
    service.analyze(chunk, "acme")
    with TestClient(create_app()) as client:
        text = client.get("/metrics").text
    families = {f.name: f.samples for f in text_string_to_metric_families(text)}
    detections = [
        s for s in families["threat_detections"] if s.name.endswith("_total") and s.labels["tenant_id"] == "acme"
    ]
    assert sum(s.value for s in detections) == 69
    counts = [s for s in families["threat_detection_duration_seconds"] if s.name.endswith("_count")]
    assert counts[0].value == 1


def test_explanations_use_the_whole_batchs_window_features() -> None:
    """A flagged flow is explained with the window features of its batch, not of the flagged rows alone."""
    normal, scan = background_and_scan()
    detector = FlowAnomalyDetector(n_estimators=50, max_samples=256).fit(flows_to_frame(normal))
    batch = flows_to_frame(normal + scan)
    verdicts = ThreatDetectionService(detector).analyze(batch, "acme").verdicts

    flagged = np.flatnonzero(detector.score(batch) >= detector.threshold)
    assert flagged.size
    whole = detector.explain_features(detector.transform(batch)[flagged]).rows()
    alone = detector.explain(batch.iloc[flagged].reset_index(drop=True)).rows()
    assert whole != alone  # the subset's own windows would tell another story
    for row, pairs in zip(flagged.tolist(), whole, strict=True):
        assert all(name in verdicts.explanation[row] for name, _ in pairs)
