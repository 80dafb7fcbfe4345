"""The gateway's typed seam: what it asks to have judged, and who judges it.

The gateway knows which message it holds and where it goes; it hands that over as a
:class:`SecurityRequest` and gets a :class:`~securenet.mcp.inspector.Verdict` with the trace
id that explains it. The orchestrator implements :class:`Judge`; the gateway never reaches
past this protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from securenet.mcp.inspector import Verdict

__all__ = ["Judge", "SecurityRequest"]


@dataclass(frozen=True)
class SecurityRequest:
    """One thing to judge: a whole JSON-RPC message, or a text on a channel."""

    tenant_id: str
    message: dict[str, Any] | None = None
    text: str | None = None
    channel: str | None = None
    #: The MCP method when the caller knows it (the gateway does); else it is read off the message.
    method: str | None = None
    upstream: str | None = None
    session_id: str | None = None
    #: For an answer: the tool that was called (a tools/call result does not name it).
    tool: str | None = None
    #: Tools the session may not call (withheld from an earlier tools/list), with the finding id.
    blocked_tools: Mapping[str, str] = field(default_factory=dict)
    #: Tool names served by the tenant's other upstreams: name -> upstream (shadowing).
    other_tools: Mapping[str, str] = field(default_factory=dict)


class Judge(Protocol):
    """Judges MCP messages: the verdict, and the trace id of the analysis that reached it."""

    def analyze(self, request: SecurityRequest) -> tuple[Verdict, str | None]: ...
