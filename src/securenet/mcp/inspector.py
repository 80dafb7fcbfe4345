"""The MCP message inspector: one ordered list of steps, decided by policy.

``MessageInspector.inspect`` takes one JSON-RPC message (or one text on a channel)
and returns a :class:`Verdict`: the decision, the risk, the findings with the action
each one led to, and the message to forward (redacted or filtered) when it may go on.
The steps are the text analyzers and the message-level checks of :mod:`securenet.mcp.checks`
(tool gate, taint, rug pull, shadowing), run in one documented order: each analyzer and each
check that applies gets its own child span of the caller's analysis span (``analyzer NAME``,
``check NAME``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from securenet.mcp.analyzers import DEFAULT_ANALYZERS, Analyzer, risk_score
from securenet.mcp.checks import (
    AppliedFinding,
    InspectionContext,
    MessageCheck,
    RugPullCheck,
    ShadowingCheck,
    TaintCheck,
    TextAnalyzers,
    ToolGateCheck,
)
from securenet.mcp.messages import Path, Segment, infer_method, replace_at, segments
from securenet.mcp.pins import ToolPinStore
from securenet.mcp.policy import ACTION_RANK, Policy
from securenet.mcp.taint import TaintTracker
from securenet.telemetry import trace_operation

__all__ = ["AppliedFinding", "InspectionContext", "MessageInspector", "Verdict"]

Decision = Literal["allow", "warn", "redact", "block"]


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    risk_score: float
    confidence: float
    findings: tuple[AppliedFinding, ...]
    policy_rule_id: str | None
    #: The message to forward when the decision is not block (redacted or filtered as needed).
    message: dict[str, Any] | None = None
    #: Tools removed from a tools/list answer, by name, with the finding id that removed them.
    blocked_tools: Mapping[str, str] = field(default_factory=dict)

    @property
    def blocking_finding(self) -> AppliedFinding | None:
        return next((f for f in self.findings if f.action == "block"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "risk_score": round(self.risk_score, 4),
            "confidence": round(self.confidence, 4),
            "policy_rule_id": self.policy_rule_id,
            "findings": [f.to_dict() for f in self.findings],
            "blocked_tools": dict(self.blocked_tools),
        }


class MessageInspector:
    """Judges MCP messages: runs :attr:`steps` in order, then lets the policy decide the verdict."""

    def __init__(
        self,
        pins: ToolPinStore | None = None,
        taint: TaintTracker | None = None,
        analyzers: tuple[Analyzer, ...] = DEFAULT_ANALYZERS,
    ) -> None:
        self.pins = pins
        self.taint = taint or TaintTracker()
        self.analyzers = analyzers
        #: Every step of an inspection, in the order it runs (see :mod:`securenet.mcp.checks`). The
        #: order is part of the verdict: findings are listed in it, and the first of the strongest
        #: names the deciding policy rule.
        self.steps: tuple[MessageCheck, ...] = (
            ToolGateCheck(),
            TextAnalyzers(analyzers),
            TaintCheck(self.taint),
            *((RugPullCheck(pins),) if pins is not None else ()),
            ShadowingCheck(),
        )

    def inspect_text(self, text: str, channel: str, context: InspectionContext) -> Verdict:
        return self._decide([Segment(channel, text, ())], context, None, "text")

    def inspect(self, message: dict[str, Any], context: InspectionContext, method: str | None = None) -> Verdict:
        """Judge one JSON-RPC message; ``method`` when the caller knows it, else read off its shape."""
        method = method or infer_method(message) or "unknown"
        return self._decide(list(segments(message, tool=context.tool)), context, message, method)

    # -- the pipeline ---------------------------------------------------------------------

    def _decide(
        self, parts: list[Segment], context: InspectionContext, message: dict[str, Any] | None, method: str
    ) -> Verdict:
        is_request = message is not None and "method" in message
        applied: list[AppliedFinding] = []
        for step in self.steps:
            if not step.applies(method, is_request, context):
                continue
            if isinstance(step, TextAnalyzers):  # each analyzer opens its own span
                applied += step.check(message, parts, context, applied)
                continue
            with trace_operation(f"check {step.name}", **{"securenet.check.name": step.name}) as span:
                found = step.check(message, parts, context, applied)
                span.set_attribute("securenet.check.findings", len(found))
            applied += found
        return self._verdict(applied, message, method, context.policy)

    def _verdict(
        self, applied: list[AppliedFinding], message: dict[str, Any] | None, method: str, policy: Policy
    ) -> Verdict:
        findings = tuple(applied)
        score = risk_score([a.finding for a in applied])
        confidence = max((a.finding.confidence for a in applied), default=0.9)
        if not applied:
            return Verdict("allow", score, confidence, findings, None, message)
        strongest = max(applied, key=lambda a: ACTION_RANK.get(a.action, 0))
        decision: Decision = strongest.action  # type: ignore[assignment]
        rule = strongest.policy_rule_id
        forwarded = message
        blocked: dict[str, str] = {}
        if message is not None and method == "tools/list" and "result" in message and decision == "block":
            # Withhold only the offending tools; the rest of the list still reaches the client.
            for item in applied:
                if item.action == "block" and item.tool is not None:
                    blocked.setdefault(item.tool, item.id)
            forwarded = _without_tools(message, blocked)
            decision = "redact"
        elif decision == "redact" and message is not None:
            forwarded = _redacted(message, [a for a in applied if a.action == "redact"])
        elif decision == "block":
            forwarded = None
        return Verdict(decision, score, confidence, findings, rule, forwarded, blocked)


def _without_tools(message: dict[str, Any], blocked: Mapping[str, str]) -> dict[str, Any]:
    result = dict(message["result"])
    result["tools"] = [t for t in result.get("tools") or [] if not (isinstance(t, dict) and t.get("name") in blocked)]
    return {**message, "result": result}


def _redacted(message: dict[str, Any], findings: list[AppliedFinding]) -> dict[str, Any]:
    by_path: dict[Path, list[AppliedFinding]] = {}
    for item in findings:
        if item.path:
            by_path.setdefault(item.path, []).append(item)
    replacements: dict[Path, str] = {}
    for path, items in by_path.items():
        target: Any = message
        for part in path:
            target = target[part]
        text = str(target)
        # Replace from the end so earlier offsets stay valid.
        for item in sorted(items, key=lambda a: a.finding.start, reverse=True):
            start, end = item.finding.start, item.finding.end
            if 0 <= start < end <= len(text):
                text = f"{text[:start]}[REDACTED:{item.finding.category}]{text[end:]}"
        replacements[path] = text
    return replace_at(message, replacements)
