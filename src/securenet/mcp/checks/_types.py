"""What every step of an inspection reads and returns: the context, applied findings, the check protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from securenet.mcp.analyzers import Finding
from securenet.mcp.messages import Path, Segment
from securenet.mcp.policy import Policy

__all__ = ["AppliedFinding", "InspectionContext", "MessageCheck"]


@dataclass(frozen=True)
class AppliedFinding:
    """A finding with the action the policy gave it, where it is in the message, and the tool it concerns."""

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


@runtime_checkable
class MessageCheck(Protocol):
    """One message-level step of an inspection, beside the text analyzers.

    ``applies`` says from the method, the direction and the context alone whether the check
    has anything to do (a check that does not apply runs no code and opens no span).
    ``check`` gets the message (None for a bare text), its analysable texts, the context and
    the findings of the steps before it, and returns its own findings with their actions.
    """

    name: str

    def applies(self, method: str, is_request: bool, context: InspectionContext) -> bool: ...

    def check(
        self,
        message: dict[str, Any] | None,
        parts: Sequence[Segment],
        context: InspectionContext,
        earlier: Sequence[AppliedFinding],
    ) -> list[AppliedFinding]: ...
