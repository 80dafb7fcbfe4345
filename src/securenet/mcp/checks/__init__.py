"""Message-level checks: what the text analyzers cannot see in one text alone.

Each check is a small class implementing :class:`MessageCheck`: it reads the message, its
texts, the :class:`InspectionContext` and the findings of the steps before it, and returns
its own findings, each an :class:`AppliedFinding` (with its action). Checks with state are
constructed with it (the pin store, the taint tracker). :class:`TextAnalyzers` is the text
analyzers as one step of the same shape. ``MessageInspector`` runs them in this order:

1. :class:`ToolGateCheck` (tools/call requests): the policy's allow/deny lists, withheld tools;
2. :class:`TextAnalyzers` (every message): one span per analyzer;
3. :class:`TaintCheck` (when there is a session): reads the findings before it;
4. :class:`RugPullCheck` (tools/list answers, when there is a pin store): the tool pins;
5. :class:`ShadowingCheck` (tools/list answers): other upstreams' tool names.
"""

from securenet.mcp.checks._analyzers import TextAnalyzers
from securenet.mcp.checks._gate import ToolGateCheck
from securenet.mcp.checks._taint import TaintCheck
from securenet.mcp.checks._tool_list import RugPullCheck, ShadowingCheck
from securenet.mcp.checks._types import AppliedFinding, InspectionContext, MessageCheck

__all__ = [
    "AppliedFinding",
    "InspectionContext",
    "MessageCheck",
    "RugPullCheck",
    "ShadowingCheck",
    "TaintCheck",
    "TextAnalyzers",
    "ToolGateCheck",
]
