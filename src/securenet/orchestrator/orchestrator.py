"""SecurityOrchestrator: the one seam every analysis passes through.

Whatever asks for an analysis (the REST API, the stream worker, later the MCP gateway),
the orchestrator runs it, stores the verdicts with the trace id of the analysis, records
metrics and writes security events, in one place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import structlog

from securenet.mcp.inspector import InspectionContext, MessageInspector, Verdict
from securenet.mcp.judge import SecurityRequest
from securenet.mcp.messages import infer_method
from securenet.mcp.pins import ToolPinStore
from securenet.netsec.models import FlowAnomalyDetector
from securenet.netsec.service import AnalysisResult, ThreatDetectionService
from securenet.orchestrator._metrics import verdict_metrics
from securenet.orchestrator.policies import PolicyProvider
from securenet.telemetry import current_trace_id, trace_operation

if TYPE_CHECKING:
    # The store is loaded only by an orchestrator that has a database (see __init__), so the
    # CLI's offline analysis does not pay for SQLAlchemy.
    from securenet.orchestrator.model_registry import ModelRegistry
    from securenet.store.database import Database
    from securenet.store.schema import Model
    from securenet.store.verdict_log import VerdictLog

__all__ = ["FlowAnalysis", "SecurityOrchestrator", "SecurityRequest"]

security_log = structlog.get_logger("securenet.security")


@dataclass(frozen=True)
class FlowAnalysis:
    analysis_id: int
    trace_id: str | None
    result: AnalysisResult
    duplicate: bool = False


class SecurityOrchestrator:
    """Every analysis enters here: the gateway, the REST API, the worker and the CLI.

    With a database it pins tool definitions, stores verdicts and detections with their
    trace ids and loads each tenant's model; without one (:meth:`offline`, for the CLI) it
    runs the same analyzers, policy resolution and detection, and stores nothing.
    """

    def __init__(
        self,
        db: Database | None,
        models: ModelRegistry | None,
        *,
        policies: PolicyProvider | None = None,
        inspector: MessageInspector | None = None,
    ) -> None:
        self.db = db
        self.models = models
        self.policies = policies or PolicyProvider(db)
        self.verdicts: VerdictLog | None = None
        pins = None
        if db is not None:
            from securenet.store.pins import ToolPinRepository
            from securenet.store.verdict_log import VerdictLog

            pins = ToolPinStore(ToolPinRepository(db))
            self.verdicts = VerdictLog(db)
        self.inspector = inspector or MessageInspector(pins)

    @classmethod
    def offline(cls, policy_file: Path | None = None) -> SecurityOrchestrator:
        """No database: the policy file (else the default policy) applies, no pins, nothing is stored."""
        return cls(None, None, policies=PolicyProvider(None, policy_file))

    def close(self) -> None:
        if self.verdicts is not None:
            self.verdicts.close()

    def analyze(self, request: SecurityRequest) -> tuple[Verdict, str | None]:
        """Judge one MCP message or text; returns the verdict and the trace id that explains it."""
        method = request.method
        if method is None and request.message is not None:
            method = infer_method(request.message)
        label = method or request.channel or "message"
        attributes: dict[str, Any] = {"tenant.id": request.tenant_id, "securenet.channel": request.channel}
        if method:
            attributes["mcp.method.name"] = method
        if request.session_id:
            attributes["mcp.session.id"] = request.session_id
        if request.tool:
            attributes["gen_ai.tool.name"] = request.tool
        if request.upstream:
            attributes["securenet.mcp.upstream"] = request.upstream
        with trace_operation(f"security.analyze {label}", **attributes) as span:
            trace_id = current_trace_id()
            context = InspectionContext(
                tenant_id=request.tenant_id,
                policy=self.policies.for_tenant(request.tenant_id),
                upstream=request.upstream,
                session_id=request.session_id,
                tool=request.tool,
                blocked_tools=request.blocked_tools,
                other_tools=request.other_tools,
                trace_id=trace_id,
            )
            if request.message is not None:
                verdict = self.inspector.inspect(request.message, context, method)
            else:
                verdict = self.inspector.inspect_text(request.text or "", request.channel or "user_input", context)
            span.set_attribute("gen_ai.security.verdict", verdict.decision)
            span.set_attribute("gen_ai.security.risk_score", verdict.risk_score)
            span.set_attribute("gen_ai.security.confidence", verdict.confidence)
            span.set_attribute("gen_ai.security.findings.count", len(verdict.findings))
            if verdict.policy_rule_id:
                span.set_attribute("gen_ai.security.policy.rule_id", verdict.policy_rule_id)
            if verdict.findings:
                span.set_attribute("gen_ai.security.finding.ids", [f.id for f in verdict.findings[:32]])
        self._record(request, verdict, method or request.channel or "message", trace_id)
        return verdict, trace_id

    def _record(self, request: SecurityRequest, verdict: Verdict, label: str, trace_id: str | None) -> None:
        verdict_metrics().record_security_verdict(
            verdict.decision, label, [(f.finding.analyzer, f.finding.severity) for f in verdict.findings]
        )
        if verdict.decision in ("block", "redact"):
            security_log.warning(
                "security.mcp_verdict",
                tenant_id=request.tenant_id,
                decision=verdict.decision,
                upstream=request.upstream,
                tool=request.tool,
                findings=[f.id for f in verdict.findings[:10]],
            )
        if self.verdicts is None:
            return
        levels = {"critical": 4, "high": 3, "medium": 2, "low": 1}
        worst = max((f.finding.severity for f in verdict.findings), key=lambda s: levels[s], default="low")
        self.verdicts.submit(
            {
                "tenant_id": request.tenant_id,
                "kind": "mcp",
                "flow_count": 0,
                "threat_count": len(verdict.findings),
                "max_level": worst,
                "trace_id": trace_id,
                "decision": verdict.decision,
                "details": {
                    **verdict.to_dict(),
                    "method": label,
                    "upstream": request.upstream,
                    "tool": request.tool,
                },
            }
        )

    def analyze_flows(
        self,
        tenant_id: str,
        frame: pd.DataFrame,
        *,
        kind: str = "flows.sync",
        message_id: str | None = None,
    ) -> FlowAnalysis:
        """Analyse a batch of canonical flows for a tenant and store the verdicts."""
        from securenet.orchestrator.records import flow_analysis_row
        from securenet.store.detections import save_flow_analysis

        db, models = self._stored()
        with trace_operation("orchestrator.analyze_flows", **{"tenant.id": tenant_id, "analysis.kind": kind}) as span:
            active = models.active(tenant_id)
            result = self.detect_flows(tenant_id, frame, None if active is None else active[1])
            trace_id = current_trace_id()
            row = flow_analysis_row(kind, frame, result.verdicts, None if active is None else str(active[0]))
            with db.session() as session:
                analysis = save_flow_analysis(session, tenant_id, row, trace_id=trace_id, message_id=message_id)
                duplicate = analysis.trace_id != trace_id
                analysis_id = analysis.id
            span.set_attribute("analysis.id", analysis_id)
            if duplicate:
                span.set_attribute("analysis.duplicate", True)
            elif result.verdicts.incidents:
                self._security_events(tenant_id, analysis_id, result)
        return FlowAnalysis(analysis_id, trace_id, result, duplicate)

    def detect_flows(self, tenant_id: str, frame: pd.DataFrame, detector: FlowAnomalyDetector | None) -> AnalysisResult:
        """Score a batch with ``detector`` (``None``: the rules alone) and store nothing: the CLI's path,
        and the first step of :meth:`analyze_flows`."""
        return ThreatDetectionService(detector).analyze(frame, tenant_id)

    def train_detector(self, frame: pd.DataFrame) -> FlowAnomalyDetector:
        """Fit a detector on baseline flows (the CLI writes it to a file; :meth:`train` registers it)."""
        return FlowAnomalyDetector().fit(frame)

    def train(self, tenant_id: str, frame: pd.DataFrame) -> Model:
        """Fit on a tenant's baseline flows, store the signed model and make it the tenant's active one."""
        return self._stored()[1].register(tenant_id, self.train_detector(frame), trace_id=current_trace_id())

    def models_of(self, tenant_id: str) -> list[Model]:
        """The tenant's models, newest first."""
        return self._stored()[1].list(tenant_id)

    def _stored(self) -> tuple[Database, ModelRegistry]:
        if self.db is None or self.models is None:
            raise RuntimeError("this orchestrator runs offline: it has no database to store analyses in")
        return self.db, self.models

    def _security_events(self, tenant_id: str, analysis_id: int, result: AnalysisResult) -> None:
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
