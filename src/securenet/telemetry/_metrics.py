"""SecureNet's own metric instruments, created lazily after setup.

Instrument names follow OpenTelemetry's style; the Prometheus exporter turns them into
the names operators scrape (dots become underscores, counters gain ``_total``, the unit
``s`` becomes ``_seconds``). docs/telemetry.md lists both spellings.
"""

from __future__ import annotations

import threading
from typing import Any

from securenet.telemetry import _setup
from securenet.telemetry._tracing import classify_target

__all__ = ["DURATION_BUCKETS_S", "MetricsCollector", "get_metrics"]

#: Histogram buckets for operation durations in seconds (the SDK default is tuned for ms).
DURATION_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class MetricsCollector:
    """The seed's ``MetricsCollector``, built on a meter that exists only after setup."""

    def __init__(self, meter: Any) -> None:
        self.threat_detections = meter.create_counter(
            "threat_detections", unit="{detection}", description="Threat detections, by tenant and level."
        )
        self.threat_detection_duration = meter.create_histogram(
            "threat_detection.duration",
            unit="s",
            description="Duration of threat-detection analyses.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )
        self.network_scans = meter.create_counter(
            "network_scans", unit="{scan}", description="Network scans, by type, target type and outcome."
        )
        self.active_threats = meter.create_up_down_counter(
            "active_threats", unit="{threat}", description="Threats currently open, by tenant."
        )
        self.api_requests = meter.create_counter(
            "api_requests", unit="{request}", description="API requests, by route template, method and status."
        )

        self.security_verdicts = meter.create_counter(
            "security.verdicts", unit="{verdict}", description="MCP security verdicts, by decision and channel."
        )
        self.security_findings = meter.create_counter(
            "security.findings", unit="{finding}", description="MCP findings, by analyzer and severity."
        )

    def record_security_verdict(self, decision: str, channel: str, findings: list[tuple[str, str]]) -> None:
        """One verdict, and its findings as (analyzer, severity) pairs."""
        self.security_verdicts.add(1, {"gen_ai.security.verdict": decision, "securenet.channel": channel})
        for analyzer, severity in findings:
            self.security_findings.add(1, {"securenet.analyzer.name": analyzer, "securenet.severity": severity})

    def record_threat_detection(self, tenant_id: str, threat_level: str, count: int = 1) -> None:
        self.threat_detections.add(count, {"tenant.id": tenant_id, "threat.level": threat_level})

    def record_detection_duration(self, tenant_id: str, seconds: float) -> None:
        self.threat_detection_duration.record(seconds, {"tenant.id": tenant_id})

    def record_network_scan(self, scan_type: str, target: str, success: bool) -> None:
        # Only the target's kind is a label: raw targets would explode cardinality.
        self.network_scans.add(1, {"scan.type": scan_type, "target.type": classify_target(target), "success": success})

    def update_active_threats(self, tenant_id: str, delta: int) -> None:
        self.active_threats.add(delta, {"tenant.id": tenant_id})

    def record_api_request(self, route: str, method: str, status_code: int) -> None:
        self.api_requests.add(
            1,
            {"http.route": route, "http.request.method": method, "http.response.status_code": status_code},
        )


_lock = threading.Lock()
_collector: tuple[object | None, MetricsCollector] | None = None


def get_metrics() -> MetricsCollector:
    """The process's collector, rebuilt if telemetry was set up again since it was made."""
    global _collector
    handle = _setup.current_handle()
    current = _collector
    if current is not None and current[0] is handle:
        return current[1]
    with _lock:
        collector = MetricsCollector(_setup.get_meter("securenet"))
        _collector = (handle, collector)
        return collector
