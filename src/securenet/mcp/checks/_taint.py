"""Cross-call taint as a check: remembers untrusted output, reports it when it flows into later arguments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from securenet.mcp.checks._types import AppliedFinding, InspectionContext
from securenet.mcp.messages import Segment
from securenet.mcp.taint import TaintTracker

__all__ = ["TaintCheck"]


class TaintCheck:
    """Per session (so only when the context names one): arguments that repeat earlier untrusted
    output are reported (TAINT001, TAINT002 when that output was flagged); tool output is
    remembered, flagged when an earlier step found something high or critical at its path. It
    therefore runs after the text analyzers."""

    name = "taint"

    def __init__(self, tracker: TaintTracker) -> None:
        self.tracker = tracker

    def applies(self, method: str, is_request: bool, context: InspectionContext) -> bool:
        return context.session_id is not None

    def check(
        self,
        message: dict[str, Any] | None,
        parts: Sequence[Segment],
        context: InspectionContext,
        earlier: Sequence[AppliedFinding],
    ) -> list[AppliedFinding]:
        session = context.session_id
        if session is None:
            return []
        found: list[AppliedFinding] = []
        for segment in parts:
            if segment.channel == "tool_arguments":
                for finding in self.tracker.check_arguments(session, segment.text):
                    action, rule = context.policy.action_for(finding, segment.channel)
                    found.append(AppliedFinding(finding, segment.channel, action, rule, segment.path, segment.tool))
            elif segment.channel == "tool_output":
                flagged = any(a.path == segment.path and a.finding.severity in ("high", "critical") for a in earlier)
                self.tracker.record_output(session, segment.text, flagged)
        return found
