"""ThreatDetectionService: flows in, traced and explained threat verdicts out.

Each analysis is one span with three children that show how the verdict was reached:
``prepare_data`` (the canonical batch), ``ml_inference`` (anomaly model and rules, in
micro-batches) and ``post_process_results`` (verdicts, explanations, incidents).
Source addresses never go into spans: events name the flow's index, score and detectors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from opentelemetry import trace

from securenet.netsec._metrics import detection_metrics
from securenet.netsec.flows import Flow, flows_to_frame, require_canonical
from securenet.netsec.models import FlowAnomalyDetector
from securenet.netsec.rules import RuleSet, default_rule_set
from securenet.netsec.verdicts import Verdicts, build_verdicts
from securenet.telemetry import trace_operation, trace_threat_detection

__all__ = ["AnalysisResult", "ThreatDetectionService"]

FlowInput: TypeAlias = "pd.DataFrame | Iterable[Flow | Mapping[str, Any]]"


@dataclass(frozen=True)
class AnalysisResult:
    tenant_id: str
    verdicts: Verdicts
    model_type: str | None
    model_version: str | None

    @property
    def threat_count(self) -> int:
        return self.verdicts.threat_count

    @property
    def max_severity(self) -> str:
        return self.verdicts.max_level


class ThreatDetectionService:
    """Scores flows with a tenant's anomaly model (optional) and the model-free rules."""

    def __init__(
        self,
        detector: FlowAnomalyDetector | None = None,
        rules: RuleSet | None = None,
        *,
        max_span_events: int = 16,
        explain_top_k: int = 3,
    ) -> None:
        self.detector = detector
        self.rules = rules if rules is not None else default_rule_set()
        self.max_span_events = max_span_events
        self.explain_top_k = explain_top_k

    @property
    def model_type(self) -> str | None:
        return None if self.detector is None else "+".join(self.detector.components)

    @property
    def model_version(self) -> str | None:
        if self.detector is None:
            return None
        return str(self.detector.metadata().get("model_id") or self.detector.created_at)

    async def analyze_network_data(self, flows: FlowInput, tenant_id: str) -> AnalysisResult:
        """:meth:`analyze` in a thread, so an event loop stays free while the CPU works."""
        return await asyncio.to_thread(self.analyze, flows, tenant_id)

    def analyze(self, flows: FlowInput, tenant_id: str) -> AnalysisResult:
        """Judge one batch: a canonical DataFrame (see :mod:`securenet.netsec.flows`) or flow records.

        Traced by the seeds' ``trace_threat_detection`` decorator: one
        ``threat_detection.analyze_network_data`` span (operation.name, operation.type,
        tenant.id, threats.detected, threats.max_severity) with the steps as its children.
        """
        return self._analyze(flows, tenant_id=tenant_id)

    @trace_threat_detection("analyze_network_data")
    def _analyze(self, flows: FlowInput, *, tenant_id: str) -> AnalysisResult:
        started = time.perf_counter()
        span = trace.get_current_span()
        span.set_attribute("model.type", self.model_type or "rules_only")
        if self.model_version is not None:
            span.set_attribute("model.version", self.model_version)
        with trace_operation("prepare_data") as prepare:
            # A DataFrame was normalised where it was made (flows_to_frame, the readers); records are built here.
            frame = require_canonical(flows) if isinstance(flows, pd.DataFrame) else flows_to_frame(flows)
            prepare.set_attribute("data.size", len(frame))
        span.set_attribute("data.size", len(frame))

        with trace_operation("ml_inference", **{"model.type": self.model_type or "rules_only"}) as inference:
            detector = self.detector if len(frame) else None
            scored = None  # the batch's feature matrix and its scores
            if detector is not None:
                features = detector.transform(frame)
                scored = (features, detector.score_features(features))
            hits = self.rules.evaluate(frame)
            inference.set_attribute("rules.evaluated", len(self.rules.rule_ids))
            inference.set_attribute("rules.evidence_count", len(hits.evidence))

        with trace_operation("post_process_results") as post:
            explanations = None
            threshold = None if self.detector is None else self.detector.threshold
            if detector is not None and scored is not None:
                features, scores = scored
                flagged = np.flatnonzero(scores >= detector.threshold)
                if flagged.size:
                    # Rows of the batch's matrix: window features stay those of the whole batch.
                    explained = detector.explain_features(features[flagged], top_k=self.explain_top_k)
                    explanations = (flagged, explained.texts())
            verdicts = build_verdicts(
                frame,
                model_scores=None if scored is None else scored[1],
                model_threshold=threshold,
                model_explanations=explanations,
                rule_hits=hits,
            )
            post.set_attribute("results.incident_count", len(verdicts.incidents))
            self._add_events(span, verdicts)

        span.set_attribute("results.threat_count", verdicts.threat_count)
        span.set_attribute("results.max_severity", verdicts.max_level)

        metrics = detection_metrics()
        for level, count in verdicts.level_counts().items():
            if count and level != "low":
                metrics.record_threat_detection(tenant_id, level, count)
        metrics.record_detection_duration(tenant_id, time.perf_counter() - started)
        return AnalysisResult(tenant_id, verdicts, self.model_type, self.model_version)

    def _add_events(self, span: Any, verdicts: Verdicts) -> None:
        threats = np.flatnonzero(verdicts.is_threat)
        if not span.is_recording() or threats.size == 0:
            return
        # The most severe first, capped: a flood must not turn one span into megabytes.
        order = threats[np.argsort(-verdicts.score[threats], kind="stable")][: self.max_span_events]
        for row in order.tolist():
            span.add_event(
                "anomaly detected",
                {
                    "flow.index": row,
                    "anomaly.score": float(verdicts.score[row]),
                    "anomaly.level": str(verdicts.level[row]),
                    "anomaly.detectors": verdicts.detectors(row),
                },
            )
        span.set_attribute("anomaly.events_dropped", int(threats.size - order.size))
