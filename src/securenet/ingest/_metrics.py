"""The queue's counters.

Prometheus names: ``ingest_messages_published_total``, ``ingest_messages_rejected_total``,
``ingest_messages_reclaimed_total`` and ``ingest_messages_dead_lettered_total``.
"""

from __future__ import annotations

from opentelemetry.metrics import Meter

from securenet.telemetry import Instruments

__all__ = ["IngestMetrics", "ingest_metrics"]


class IngestMetrics:
    def __init__(self, meter: Meter) -> None:
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


ingest_metrics = Instruments("securenet.ingest", IngestMetrics)
