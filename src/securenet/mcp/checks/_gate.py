"""The tool gate: a tools/call for a tool the policy denies, or one withheld from an earlier tools/list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from securenet.mcp.analyzers import Finding
from securenet.mcp.checks._types import AppliedFinding, InspectionContext
from securenet.mcp.messages import Segment

__all__ = ["ToolGateCheck"]


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


class ToolGateCheck:
    """Blocks a tools/call request whose tool the upstream's allow/deny lists refuse (POL001) or that
    the session's earlier tools/list withheld (POL002). Its findings' analyzer is ``policy``."""

    name = "tool_gate"

    def applies(self, method: str, is_request: bool, context: InspectionContext) -> bool:
        return is_request and method == "tools/call"

    def check(
        self,
        message: dict[str, Any] | None,
        parts: Sequence[Segment],
        context: InspectionContext,
        earlier: Sequence[AppliedFinding],
    ) -> list[AppliedFinding]:
        params = (message or {}).get("params") or {}
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
