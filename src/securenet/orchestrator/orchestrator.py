"""SecurityOrchestrator: the one seam every analysis passes through.

Whatever asks for an analysis (the REST API, the stream worker, later the MCP gateway),
the orchestrator runs it, stores the verdicts with the trace id of the analysis, records
metrics and writes security events, in one place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
import structlog

from securenet.netsec.service import AnalysisResult, ThreatDetectionService
from securenet.orchestrator.model_registry import ModelRegistry
from securenet.store.database import Database
from securenet.store.detections import save_flow_analysis
from securenet.telemetry import get_metrics, trace_operation

__all__ = ["FlowAnalysis", "SecurityOrchestrator", "current_trace_id"]

security_log = structlog.get_logger("securenet.security")


def current_trace_id() -> str | None:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - telemetry degrades without OpenTelemetry
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


@dataclass(frozen=True)
class FlowAnalysis:
    analysis_id: int
    trace_id: str | None
    result: AnalysisResult
    duplicate: bool = False


class SecurityOrchestrator:
    def __init__(self, db: Database, models: ModelRegistry) -> None:
        self.db = db
        self.models = models

    def analyze_flows(
        self,
        tenant_id: str,
        frame: pd.DataFrame,
        *,
        kind: str = "flows.sync",
        message_id: str | None = None,
    ) -> FlowAnalysis:
        """Analyse a batch of canonical flows for a tenant and store the verdicts."""
        with trace_operation("orchestrator.analyze_flows", **{"tenant.id": tenant_id, "analysis.kind": kind}) as span:
            active = self.models.active(tenant_id)
            service = ThreatDetectionService(None if active is None else active[1])
            result = service.analyze(frame, tenant_id)
            trace_id = current_trace_id()
            with self.db.session() as session:
                analysis = save_flow_analysis(
                    session,
                    tenant_id=tenant_id,
                    kind=kind,
                    frame=frame,
                    verdicts=result.verdicts,
                    trace_id=trace_id,
                    model_version=None if active is None else str(active[0]),
                    message_id=message_id,
                )
                duplicate = analysis.trace_id != trace_id
                analysis_id = analysis.id
            span.set_attribute("analysis.id", analysis_id)
            if duplicate:
                span.set_attribute("analysis.duplicate", True)
            elif result.verdicts.incidents:
                self._security_events(tenant_id, analysis_id, result)
        return FlowAnalysis(analysis_id, trace_id, result, duplicate)

    def _security_events(self, tenant_id: str, analysis_id: int, result: AnalysisResult) -> None:
        metrics = get_metrics()
        metrics.update_active_threats(tenant_id, len(result.verdicts.incidents))
        for incident in result.verdicts.incidents:
            # Addresses stay in the database; the log line says what and how bad, with the trace.
            security_log.log(
                logging.WARNING if incident.level in ("high", "critical") else logging.INFO,
                "security.incident",
                tenant_id=tenant_id,
                analysis_id=analysis_id,
                threat_level=incident.level,
                flows=incident.flows,
                detectors=list(incident.detectors),
            )
