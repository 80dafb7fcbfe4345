"""The labelled MCP attack/benign corpus: well formed, balanced, and detected well enough to guard regressions.

The rules were written alongside this corpus, so its figures are optimistic; the honest
numbers come from ``benchmarks/mcp_detection.py`` on the held-out half of bastioncorpus.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from securenet.mcp.analyzers import CHANNELS, analyze_text, risk_score

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]


ATTACKS = load("attacks.jsonl")
BENIGN = load("benign.jsonl")


def test_rows_are_well_formed() -> None:
    for row, label in [(r, "attack") for r in ATTACKS] + [(r, "benign") for r in BENIGN]:
        assert set(row) == {"text", "channel", "label", "category", "source"}
        assert row["label"] == label
        assert row["channel"] in CHANNELS
        assert row["text"] and row["category"] and row["source"]


def test_corpus_is_large_and_has_more_benign_than_attack_rows() -> None:
    assert len(ATTACKS) + len(BENIGN) >= 150
    assert len(BENIGN) >= len(ATTACKS)
    assert {r["channel"] for r in ATTACKS} == set(CHANNELS) == {r["channel"] for r in BENIGN}


def _flagged(row: dict[str, Any]) -> bool:
    return risk_score(analyze_text(row["text"], row["channel"])) >= 0.7


@pytest.mark.parametrize("channel", CHANNELS)
def test_recall_and_false_positive_rate_per_channel(channel: str) -> None:
    attacks = [r for r in ATTACKS if r["channel"] == channel]
    benign = [r for r in BENIGN if r["channel"] == channel]
    recall = sum(map(_flagged, attacks)) / len(attacks)
    fpr = sum(map(_flagged, benign)) / len(benign)
    assert recall >= 0.9, recall
    assert fpr <= 0.05, fpr
