"""The detection service's instruments: threats found and time spent, by tenant.

Prometheus names: ``threat_detections_total{tenant_id, threat_level}`` and
``threat_detection_duration_seconds{tenant_id}``.
"""

from __future__ import annotations

from opentelemetry.metrics import Meter

from securenet.telemetry import DURATION_BUCKETS_S, Instruments

__all__ = ["DetectionMetrics", "detection_metrics"]


class DetectionMetrics:
    def __init__(self, meter: Meter) -> None:
        self.detections = meter.create_counter(
            "threat_detections", unit="{detection}", description="Threat detections, by tenant and level."
        )
        self.duration = meter.create_histogram(
            "threat_detection.duration",
            unit="s",
            description="Duration of threat-detection analyses.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )

    def record_threat_detection(self, tenant_id: str, threat_level: str, count: int = 1) -> None:
        self.detections.add(count, {"tenant.id": tenant_id, "threat.level": threat_level})

    def record_detection_duration(self, tenant_id: str, seconds: float) -> None:
        self.duration.record(seconds, {"tenant.id": tenant_id})


detection_metrics = Instruments("securenet.netsec", DetectionMetrics)
