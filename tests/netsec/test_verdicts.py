"""Verdict scores, levels, detectors, explanations and incidents."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from securenet.netsec.flows import flows_to_frame
from securenet.netsec.rules import default_rule_set
from securenet.netsec.verdicts import (
    THREAT_THRESHOLD,
    Incident,
    Verdicts,
    build_verdicts,
    level_of,
    merge_incidents,
    model_to_verdict_score,
)


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0.0, "low"),
        (0.39, "low"),
        (0.4, "medium"),
        (0.59, "medium"),
        (0.6, "high"),
        (0.8, "critical"),
        (1.0, "critical"),
    ],
)
def test_levels_follow_the_seed_thresholds(score, level) -> None:
    assert level_of(np.array([score]))[0] == level


def test_model_threshold_maps_to_the_threat_boundary_monotonically() -> None:
    raw = np.linspace(0, 1, 101)
    mapped = model_to_verdict_score(raw, threshold=0.97)
    assert np.all(np.diff(mapped) >= 0)
    assert mapped[0] == 0.0
    assert mapped[-1] == 1.0
    assert model_to_verdict_score(np.array([0.97]), 0.97)[0] == pytest.approx(THREAT_THRESHOLD)
    assert np.array_equal(mapped >= THREAT_THRESHOLD, raw >= 0.97)


def test_model_and_rules_combine() -> None:
    rows = [
        {
            "ts": 1000.0 + i * 0.01,
            "orig_h": "10.0.0.66",
            "resp_h": "10.0.0.9",
            "resp_p": 1 + i,
            "proto": "tcp",
            "conn_state": "S0",
        }
        for i in range(120)
    ]
    rows += [
        {"ts": 1000.0, "orig_h": "10.0.0.2", "resp_h": "10.0.0.9", "resp_p": 443, "proto": "tcp", "conn_state": "SF"}
    ]
    frame = flows_to_frame(rows)
    model_scores = np.full(len(frame), 0.5)
    model_scores[-1] = 0.999  # the model alone flags the last flow
    verdicts = build_verdicts(
        frame,
        model_scores=model_scores,
        model_threshold=0.99,
        model_explanations=(np.array([len(frame) - 1]), ["unusual orig_bytes +7.5sd"]),
        rule_hits=default_rule_set().evaluate(frame),
    )
    assert verdicts.is_threat.all()
    assert "port_scan" in verdicts.detectors(0)
    assert "anomaly_model" not in verdicts.detectors(0)
    assert verdicts.detectors(len(frame) - 1) == ["anomaly_model"]
    assert "10.0.0.66 touched" in verdicts.explanation[0]
    assert verdicts.explanation[-1] == "unusual orig_bytes +7.5sd"
    assert np.array_equal(verdicts.is_threat, verdicts.score >= THREAT_THRESHOLD)
    sources = {i.source: i for i in verdicts.incidents}
    assert sources["10.0.0.66"].flows == 120
    assert sources["10.0.0.66"].first_ts == 1000.0
    assert sources["10.0.0.2"].detectors == ("anomaly_model",)
    record = verdicts.record(0)
    assert set(record) == {"index", "score", "level", "is_threat", "detectors", "explanation"}
    frame_out = verdicts.to_frame(first_index=10)
    assert frame_out["index"].tolist()[:2] == [10, 11]
    assert frame_out["detectors"].iloc[-1] == ["anomaly_model"]


def test_rules_only_without_model() -> None:
    frame = flows_to_frame([{"orig_h": "10.0.0.1", "resp_p": 80, "conn_state": "SF"}] * 3)
    verdicts = build_verdicts(
        frame,
        model_scores=None,
        model_threshold=None,
        model_explanations=None,
        rule_hits=default_rule_set().evaluate(frame),
    )
    assert not verdicts.is_threat.any()
    assert verdicts.incidents == []
    assert verdicts.max_level == "low"
    assert "anomaly_model" not in verdicts.detector_names


def test_incidents_merge_across_batches() -> None:
    a = Incident("10.0.0.1", 3, 0.7, "high", ("port_scan",), 10.0, 20.0, (0, 1, 2))
    b = Incident("10.0.0.1", 2, 0.9, "critical", ("anomaly_model",), 5.0, 30.0, (100, 101))
    c = Incident("10.0.0.2", 1, 0.5, "medium", ("brute_force",), None, None, (7,))
    merged = merge_incidents([a, c, b])
    assert [i.source for i in merged] == ["10.0.0.1", "10.0.0.2"]
    first = merged[0]
    assert (first.flows, first.max_score, first.level) == (5, 0.9, "critical")
    assert first.detectors == ("port_scan", "anomaly_model")
    assert (first.first_ts, first.last_ts) == (5.0, 30.0)
    assert first.sample_rows == (0, 1, 2, 100, 101)


def test_empty_batch() -> None:
    frame = flows_to_frame([])
    verdicts = build_verdicts(frame, model_scores=None, model_threshold=None, model_explanations=None, rule_hits=None)
    assert len(verdicts) == 0
    assert isinstance(verdicts.to_frame(), pd.DataFrame)


def test_ndjson_is_one_record_per_line_even_when_text_looks_like_a_record_boundary() -> None:
    tricky = 'x},{"index":9} / \\n \u00e9'
    verdicts = Verdicts(
        np.array([0.5, 0.1]),
        np.array(["medium", "low"], dtype=object),
        np.array([True, False]),
        ("model", "rule"),
        np.array([[True, False], [False, False]]),
        np.array([tricky, ""], dtype=object),
    )
    text = verdicts.to_ndjson(first_index=3)
    assert text.endswith("\n")
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["index"] for r in records] == [3, 4]
    assert records[0]["explanation"] == tricky
    assert records[0]["detectors"] == ["model"]
    assert records == verdicts.to_frame(first_index=3).to_dict(orient="records")
    assert (
        Verdicts(
            np.zeros(0), np.zeros(0, object), np.zeros(0, bool), (), np.zeros((0, 0), bool), np.zeros(0, object)
        ).to_ndjson()
        == ""
    )


@pytest.mark.parametrize("detectors", [3, 40])
def test_detector_lists_name_the_detectors_that_fired(detectors: int) -> None:
    rng = np.random.default_rng(detectors)
    fired = rng.random((200, detectors)) < 0.1
    names = tuple(f"d{i}" for i in range(detectors))
    n = len(fired)
    verdicts = Verdicts(np.zeros(n), np.zeros(n, object), np.zeros(n, bool), names, fired, np.zeros(n, object))
    listed = verdicts.to_frame()["detectors"].tolist()
    assert listed == [[name for name, hit in zip(names, row, strict=True) if hit] for row in fired.tolist()]
