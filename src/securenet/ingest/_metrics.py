"""The queue's counters, created lazily (and again after telemetry is set up anew).

Prometheus names: ``ingest_messages_published_total``, ``ingest_messages_rejected_total``,
``ingest_messages_reclaimed_total`` and ``ingest_messages_dead_lettered_total``.
"""

from __future__ import annotations

import threading
from typing import Any

from securenet.telemetry import current_handle, get_meter

__all__ = ["IngestMetrics", "ingest_metrics"]


class IngestMetrics:
    def __init__(self, meter: Any) -> None:
        self.published = meter.create_counter(
            "ingest.messages.published", unit="{message}", description="Stream entries published, by tenant."
        )
        self.rejected = meter.create_counter(
            "ingest.messages.rejected",
            unit="{message}",
            description="Publishes refused because the tenant's stream was full, by tenant.",
        )
        self.reclaimed = meter.create_counter(
            "ingest.messages.reclaimed",
            unit="{message}",
            description="Entries taken over from consumers that did not acknowledge them in time.",
        )
        self.dead_lettered = meter.create_counter(
            "ingest.messages.dead_lettered",
            unit="{message}",
            description="Entries moved to the dead-letter stream instead of being processed, by tenant.",
        )


_lock = threading.Lock()
_current: tuple[object | None, IngestMetrics] | None = None


def ingest_metrics() -> IngestMetrics:
    global _current
    handle = current_handle()
    current = _current
    if current is not None and current[0] is handle:
        return current[1]
    with _lock:
        metrics = IngestMetrics(get_meter("securenet.ingest"))
        _current = (handle, metrics)
        return metrics
