"""The orchestrator maps a network analysis (flows and verdicts) to the store's plain rows."""

from __future__ import annotations

import math

import numpy as np

from securenet.netsec.flows import flows_to_frame
from securenet.netsec.service import ThreatDetectionService
from securenet.orchestrator.records import flow_analysis_row
from tests.netsec.traffic import background_and_scan


def test_every_threat_verdict_becomes_a_detection_row_with_its_flow() -> None:
    normal, scan = background_and_scan()
    frame = flows_to_frame(normal + scan)
    verdicts = ThreatDetectionService(None).analyze(frame, "acme").verdicts
    row = flow_analysis_row("flows.sync", frame, verdicts, "7")

    assert (row.kind, row.flow_count, row.threat_count, row.max_level, row.model_version) == (
        "flows.sync",
        len(frame),
        verdicts.threat_count,
        verdicts.max_level,
        "7",
    )
    threats = np.flatnonzero(verdicts.is_threat).tolist()
    assert threats and [d.flow_index for d in row.detections] == threats
    for detection in row.detections:
        flow = frame.iloc[detection.flow_index]
        assert detection.source == flow["orig_h"] and detection.destination == flow["resp_h"]
        assert detection.destination_port == int(flow["resp_p"]) and detection.flow_ts == float(flow["ts"])
        assert detection.score == float(verdicts.score[detection.flow_index])
        assert detection.level == verdicts.level[detection.flow_index]
        assert list(detection.detectors) == verdicts.detectors(detection.flow_index)
        assert isinstance(detection.explanation, str) and detection.explanation
    assert [(i.source, i.flows, tuple(i.detectors)) for i in row.incidents] == [
        (i.source, i.flows, i.detectors) for i in verdicts.incidents
    ]
    assert row.incidents and row.incidents[0].source == "10.0.0.99"


def test_missing_values_become_none_not_nan_or_text() -> None:
    _, scan = background_and_scan()
    frame = flows_to_frame(scan)
    verdicts = ThreatDetectionService(None).analyze(frame, "acme").verdicts
    first = int(np.flatnonzero(verdicts.is_threat)[0])
    frame.loc[first, ["resp_p", "ts"]] = math.nan
    frame["resp_h"] = frame["resp_h"].astype(object)
    frame.loc[first, "resp_h"] = None
    detections = flow_analysis_row("flows.sync", frame, verdicts, None).detections
    detection = next(d for d in detections if d.flow_index == first)
    assert (detection.destination, detection.destination_port, detection.flow_ts) == (None, None, None)
    assert detection.source == "10.0.0.99"


def test_a_frame_without_address_columns_gives_rows_without_addresses() -> None:
    _, scan = background_and_scan()
    frame = flows_to_frame(scan)
    verdicts = ThreatDetectionService(None).analyze(frame, "acme").verdicts
    row = flow_analysis_row("flows.sync", frame.drop(columns=["orig_h", "resp_h", "resp_p", "ts"]), verdicts, None)
    assert row.detections
    addresses = {(d.source, d.destination, d.destination_port, d.flow_ts) for d in row.detections}
    assert addresses == {(None, None, None, None)}
