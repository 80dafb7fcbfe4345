"""The detections repository stores plain rows: no DataFrames, no verdict objects."""

from __future__ import annotations

from securenet.store.database import Database
from securenet.store.detections import (
    DetectionFilter,
    DetectionRow,
    FlowAnalysisRow,
    IncidentRow,
    list_detections,
    list_incidents,
    save_flow_analysis,
    unpack_detectors,
)
from securenet.store.schema import Analysis

TRACE = "ab" * 16


def _analysis(*detections: DetectionRow) -> FlowAnalysisRow:
    return FlowAnalysisRow(
        kind="flows.sync",
        flow_count=10,
        threat_count=len(detections),
        max_level="high",
        model_version="3",
        detections=detections,
        incidents=[
            IncidentRow(
                source="10.0.0.99",
                flows=2,
                max_score=0.7,
                level="high",
                detectors=("port_scan", "anomaly_model"),
                first_ts=1.0,
                last_ts=2.0,
            )
        ],
    )


def _detection(index: int, **changes: object) -> DetectionRow:
    fields: dict[str, object] = {
        "flow_index": index,
        "flow_ts": 1.0 + index,
        "source": "10.0.0.99",
        "destination": "10.1.0.1",
        "destination_port": 1000 + index,
        "score": 0.7,
        "level": "high",
        "detectors": ("port_scan",),
        "explanation": "port scan",
    }
    return DetectionRow(**(fields | changes))  # type: ignore[arg-type]


def test_an_analysis_is_stored_with_its_detections_and_incidents(db: Database, tenant_id: str) -> None:
    row = _analysis(_detection(3), _detection(5, source=None, destination_port=None, flow_ts=None))
    with db.session() as session:
        analysis = save_flow_analysis(session, tenant_id, row, trace_id=TRACE)
        analysis_id = analysis.id
    with db.session() as session:
        stored = session.get(Analysis, analysis_id)
        assert stored is not None
        assert (stored.kind, stored.flow_count, stored.threat_count, stored.max_level, stored.model_version) == (
            "flows.sync",
            10,
            2,
            "high",
            "3",
        )
        page = list_detections(session, tenant_id, DetectionFilter(), cursor=None, limit=10)
        by_index = {d.flow_index: d for d in page.items}
        assert set(by_index) == {3, 5}
        assert (by_index[3].source, by_index[3].destination_port, by_index[3].flow_ts) == ("10.0.0.99", 1003, 4.0)
        assert (by_index[5].source, by_index[5].destination_port, by_index[5].flow_ts) == (None, None, None)
        assert all(d.trace_id == TRACE and d.analysis_id == analysis_id for d in page.items)
        assert unpack_detectors(by_index[3].detectors) == ["port_scan"]
        # The detector filter finds rows by one packed name.
        found = list_detections(session, tenant_id, DetectionFilter(detector="port_scan"), cursor=None, limit=10)
        assert len(found.items) == 2
        [incident] = list_incidents(session, tenant_id, cursor=None, limit=10).items
        assert (incident.source, incident.flows, incident.level, incident.first_ts, incident.last_ts) == (
            "10.0.0.99",
            2,
            "high",
            1.0,
            2.0,
        )
        assert unpack_detectors(incident.detectors) == ["port_scan", "anomaly_model"]


def test_text_longer_than_its_column_is_cut(db: Database, tenant_id: str) -> None:
    row = _analysis(_detection(0, source="s" * 100, destination="d" * 100, explanation="e" * 3000))
    with db.session() as session:
        save_flow_analysis(session, tenant_id, row, trace_id=TRACE)
    with db.session() as session:
        [detection] = list_detections(session, tenant_id, DetectionFilter(), cursor=None, limit=10).items
        assert (detection.source, detection.destination) == ("s" * 64, "d" * 64)
        assert detection.explanation == "e" * 2000


def test_a_redelivered_message_writes_nothing(db: Database, tenant_id: str) -> None:
    with db.session() as session:
        first = save_flow_analysis(session, tenant_id, _analysis(_detection(0)), trace_id=TRACE, message_id="1-0")
        first_id = first.id
    with db.session() as session:
        again = save_flow_analysis(session, tenant_id, _analysis(_detection(0)), trace_id="cd" * 16, message_id="1-0")
        assert (again.id, again.trace_id) == (first_id, TRACE)
    with db.session() as session:
        assert len(list_detections(session, tenant_id, DetectionFilter(), cursor=None, limit=10).items) == 1
