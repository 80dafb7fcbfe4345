"""The text analyzers as one step of an inspection: every text through ``run_analyzers``, findings with actions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from securenet.mcp.analyzers import DEFAULT_ANALYZERS, Analyzer, Channel, run_analyzers
from securenet.mcp.checks._types import AppliedFinding, InspectionContext
from securenet.mcp.messages import Segment

__all__ = ["TextAnalyzers"]


class TextAnalyzers:
    """Runs the text analyzers over every analysable text of a message; applies to every message.

    The analyzers open their own spans (``analyzer NAME``, one each), so the inspector opens none
    around this step.
    """

    name = "analyzers"

    def __init__(self, analyzers: Sequence[Analyzer] = DEFAULT_ANALYZERS) -> None:
        self.analyzers = tuple(analyzers)

    def applies(self, method: str, is_request: bool, context: InspectionContext) -> bool:
        return True

    def check(
        self,
        message: dict[str, Any] | None,
        parts: Sequence[Segment],
        context: InspectionContext,
        earlier: Sequence[AppliedFinding],
    ) -> list[AppliedFinding]:
        texts = [(segment.text, cast(Channel, segment.channel)) for segment in parts]
        found: list[AppliedFinding] = []
        for segment, findings in zip(parts, run_analyzers(texts, self.analyzers, traced=True), strict=True):
            # Two analyzers flagging the same span for the same reason count once (run_analyzers).
            for finding in findings:
                action, rule = context.policy.action_for(finding, segment.channel)
                found.append(AppliedFinding(finding, segment.channel, action, rule, segment.path, segment.tool))
        return found
