"""The orchestrator's instruments: the MCP verdicts it delivers and their findings.

Prometheus names: ``security_verdicts_total{gen_ai_security_verdict, securenet_channel}`` and
``security_findings_total{securenet_analyzer_name, securenet_severity}``.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.metrics import Meter

from securenet.telemetry import Instruments

__all__ = ["VerdictMetrics", "verdict_metrics"]


class VerdictMetrics:
    def __init__(self, meter: Meter) -> None:
        self.verdicts = meter.create_counter(
            "security.verdicts", unit="{verdict}", description="MCP security verdicts, by decision and channel."
        )
        self.findings = meter.create_counter(
            "security.findings", unit="{finding}", description="MCP findings, by analyzer and severity."
        )

    def record_security_verdict(self, decision: str, channel: str, findings: Iterable[tuple[str, str]]) -> None:
        """One verdict, and its findings as (analyzer, severity) pairs."""
        self.verdicts.add(1, {"gen_ai.security.verdict": decision, "securenet.channel": channel})
        for analyzer, severity in findings:
            self.findings.add(1, {"securenet.analyzer.name": analyzer, "securenet.severity": severity})


verdict_metrics = Instruments("securenet.orchestrator", VerdictMetrics)
