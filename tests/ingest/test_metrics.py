"""Refusals, reclaims and dead letters are counted, never silent."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from securenet.ingest import QueueFullError
from tests.ingest.conftest import Backend
from tests.ingest.test_queue import FLOWS


def counters() -> dict[tuple[str, str], float]:
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if sample.name.startswith("ingest_messages_") and sample.name.endswith("_total"):
                key = (sample.name, sample.labels.get("tenant_id", ""))
                found[key] = found.get(key, 0.0) + sample.value
    return found


def test_queue_counters(telemetry: Any, backend: Backend) -> None:
    telemetry()
    queue = backend.make(max_len=2, max_deliveries=1)
    queue.publish("acme", FLOWS)
    queue.publish("acme", FLOWS)
    with pytest.raises(QueueFullError):
        queue.publish("acme", FLOWS)
    backend.inject_raw(queue, "globex", {b"records": b"[]"})
    assert len(queue.consume("w1", 10, 0)) == 2
    assert queue.claim_stale("w2", 0, 10) == []  # a second delivery is one too many

    assert counters() == {
        ("ingest_messages_published_total", "acme"): 2.0,
        ("ingest_messages_rejected_total", "acme"): 1.0,
        ("ingest_messages_reclaimed_total", ""): 2.0,
        ("ingest_messages_dead_lettered_total", "globex"): 1.0,
        ("ingest_messages_dead_lettered_total", "acme"): 2.0,
    }
