"""The MCP message inspector: analyzers, pins, shadowing and taint, decided by policy.

``MessageInspector.inspect`` takes one JSON-RPC message (or one text on a channel)
and returns a :class:`Verdict`: the decision, the risk, the findings with the action
each one led to, and the message to forward (redacted or filtered) when it may go on.
Each analyzer runs in its own child span of the caller's analysis span.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from securenet.mcp.analyzers import DEFAULT_ANALYZERS, Analyzer, Channel, Finding, risk_score, run_analyzers
from securenet.mcp.messages import Path, Segment, infer_method, replace_at, segments
from securenet.mcp.pins import ToolPinStore
from securenet.mcp.policy import ACTION_RANK, Policy
from securenet.mcp.taint import TaintTracker
from securenet.telemetry import trace_operation

__all__ = ["AppliedFinding", "InspectionContext", "MessageInspector", "Verdict"]

Decision = Literal["allow", "warn", "redact", "block"]


@dataclass(frozen=True)
class AppliedFinding:
    finding: Finding
    channel: str
    action: str
    policy_rule_id: str
    path: Path = ()
    tool: str | None = None

    @property
    def id(self) -> str:
        """Stable id of this finding in a verdict: rule and location, e.g. ``TP001@tools/2``."""
        where = "/".join(str(p) for p in self.path[:3]) if self.path else self.channel
        return f"{self.finding.rule_id}@{where}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.finding.to_dict(),
            "channel": self.channel,
            "action": self.action,
            "policy_rule_id": self.policy_rule_id,
            "tool": self.tool,
        }


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


@dataclass
class InspectionContext:
    tenant_id: str
    policy: Policy
    upstream: str | None = None
    session_id: str | None = None
    #: For a response: the tool that was called (a tools/call result does not name it).
    tool: str | None = None
    #: Tools the session may not call (removed from an earlier tools/list), with their finding id.
    blocked_tools: Mapping[str, str] = field(default_factory=dict)
    #: Tool names served by the tenant's *other* upstreams: name -> upstream (shadowing).
    other_tools: Mapping[str, str] = field(default_factory=dict)
    trace_id: str | None = None


def _policy_finding(rule_id: str, category: str, message: str, evidence: str) -> Finding:
    return Finding(
        analyzer="policy",
        rule_id=rule_id,
        severity="critical",
        category=category,
        message=message,
        evidence=evidence[:120],
        start=0,
        end=len(evidence[:120]),
        confidence=1.0,
    )


class MessageInspector:
    def __init__(
        self,
        pins: ToolPinStore | None = None,
        taint: TaintTracker | None = None,
        analyzers: tuple[Analyzer, ...] = DEFAULT_ANALYZERS,
    ) -> None:
        self.pins = pins
        self.taint = taint or TaintTracker()
        self.analyzers = analyzers

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
        applied: list[AppliedFinding] = []
        policy = context.policy
        is_request = message is not None and "method" in message

        if message is not None and is_request and method == "tools/call":
            applied += self._call_gate(message, context)

        texts = [(segment.text, cast(Channel, segment.channel)) for segment in parts]
        for segment, findings in zip(parts, run_analyzers(texts, self.analyzers, traced=True), strict=True):
            # Two analyzers flagging the same span for the same reason count once (run_analyzers).
            for finding in findings:
                action, rule = policy.action_for(finding, segment.channel)
                applied.append(AppliedFinding(finding, segment.channel, action, rule, segment.path, segment.tool))

        if context.session_id is not None:
            applied += self._taint(parts, context, applied)
        if message is not None and method == "tools/list" and not is_request:
            applied += self._tool_list_checks(message, context)

        return self._verdict(applied, message, method, policy)

    def _call_gate(self, message: dict[str, Any], context: InspectionContext) -> list[AppliedFinding]:
        params = message.get("params") or {}
        name = str(params.get("name", ""))
        found: list[AppliedFinding] = []
        if context.upstream is not None:
            allowed, rule = context.policy.tool_allowed(context.upstream, name)
            if not allowed:
                finding = _policy_finding("POL001", "tool_not_allowed", f"tool {name!r} is not allowed by policy", name)
                found.append(
                    AppliedFinding(finding, "tool_arguments", "block", rule or "policy", ("params", "name"), name)
                )
        if name in context.blocked_tools:
            finding = _policy_finding(
                "POL002", "blocked_tool", f"tool {name!r} was withheld ({context.blocked_tools[name]})", name
            )
            found.append(AppliedFinding(finding, "tool_arguments", "block", "blocked_tools", ("params", "name"), name))
        return found

    def _taint(
        self, parts: list[Segment], context: InspectionContext, applied: list[AppliedFinding]
    ) -> list[AppliedFinding]:
        assert context.session_id is not None
        found: list[AppliedFinding] = []
        with trace_operation("analyzer taint", **{"securenet.analyzer.name": "taint"}) as span:
            for segment in parts:
                if segment.channel == "tool_arguments":
                    for finding in self.taint.check_arguments(context.session_id, segment.text):
                        action, rule = context.policy.action_for(finding, segment.channel)
                        found.append(AppliedFinding(finding, segment.channel, action, rule, segment.path, segment.tool))
                elif segment.channel == "tool_output":
                    flagged = any(
                        a.path == segment.path and a.finding.severity in ("high", "critical") for a in applied
                    )
                    self.taint.record_output(context.session_id, segment.text, flagged)
            span.set_attribute("securenet.analyzer.findings", len(found))
        return found

    def _tool_list_checks(self, message: dict[str, Any], context: InspectionContext) -> list[AppliedFinding]:
        tools = [t for t in (message.get("result") or {}).get("tools") or [] if isinstance(t, dict)]
        found: list[AppliedFinding] = []
        if self.pins is not None and context.upstream is not None:
            with trace_operation("analyzer rug_pull", **{"securenet.analyzer.name": "rug_pull"}) as span:
                for index, tool in enumerate(tools):
                    check = self.pins.check(context.tenant_id, context.upstream, tool, context.trace_id)
                    if check.status == "changed":
                        finding = Finding(
                            analyzer="rug_pull",
                            rule_id="RP001",
                            severity="critical",
                            category="changed_definition",
                            message=f"the definition of {check.tool!r} changed since it was pinned; approve it with "
                            "`securenet mcp pins approve`",
                            evidence=f"sha256 {(check.pinned_sha256 or '?')[:12]} -> {check.sha256[:12]}",
                            start=0,
                            end=0,
                            confidence=1.0,
                        )
                        action = "block" if context.policy.block_changed_tools else "warn"
                        found.append(
                            AppliedFinding(
                                finding,
                                "tool_description",
                                action,
                                "block_changed_tools",
                                ("result", "tools", index),
                                check.tool,
                            )
                        )
                span.set_attribute("securenet.analyzer.findings", len(found))
        if context.other_tools:
            with trace_operation("analyzer shadowing", **{"securenet.analyzer.name": "shadowing"}):
                for index, tool in enumerate(tools):
                    name = str(tool.get("name", ""))
                    if name in context.other_tools:
                        finding = Finding(
                            analyzer="shadowing",
                            rule_id="SH001",
                            severity="high",
                            category="duplicate_tool_name",
                            message=f"{name!r} is also served by upstream {context.other_tools[name]!r}",
                            evidence=name,
                            start=0,
                            end=len(name),
                            confidence=0.8,
                        )
                        action, rule = context.policy.action_for(finding, "tool_description")
                        found.append(
                            AppliedFinding(finding, "tool_description", action, rule, ("result", "tools", index), name)
                        )
                    description = str(tool.get("description", ""))
                    for other, upstream in context.other_tools.items():
                        if other != name and len(other) >= 4 and other in description:
                            start = description.index(other)
                            finding = Finding(
                                analyzer="shadowing",
                                rule_id="SH002",
                                severity="critical",
                                category="cross_server_steering",
                                message=f"the description of {name!r} refers to {other!r} of upstream {upstream!r}",
                                evidence=description[max(0, start - 40) : start + len(other) + 40],
                                start=start,
                                end=start + len(other),
                                confidence=0.85,
                            )
                            action, rule = context.policy.action_for(finding, "tool_description")
                            found.append(
                                AppliedFinding(
                                    finding,
                                    "tool_description",
                                    action,
                                    rule,
                                    ("result", "tools", index, "description"),
                                    name,
                                )
                            )
        return found

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
