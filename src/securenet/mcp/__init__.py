"""MCP security: the analyzers, the message inspector and its policy, tool pins, taint, and the gateway.

The gateway (``GatewayServer``, one per upstream) hands every MCP message to its ``Judge``
(the orchestrator); ``MessageInspector`` judges a message with the text analyzers
(:mod:`securenet.mcp.analyzers`) and the message-level checks (:mod:`securenet.mcp.checks`:
tool gate, taint, tool pins, shadowing), decided by a ``Policy``.

Public names load on first use (PEP 562), so importing one module of this room loads
only what that module needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from securenet._faces import lazy_face

if TYPE_CHECKING:
    from securenet.mcp.gateway import BLOCKED_CODE, GatewayServer, supervise_upstreams
    from securenet.mcp.inspector import InspectionContext, MessageInspector, Verdict
    from securenet.mcp.judge import Judge, SecurityRequest
    from securenet.mcp.pins import ToolPinStore
    from securenet.mcp.policy import (
        Policy,
        PolicyError,
        PolicyFile,
        PolicyFormat,
        PolicySyntaxError,
        load_policy,
        parse_policy,
        read_policy_document,
    )
    from securenet.mcp.taint import TaintTracker
    from securenet.mcp.upstream import UPSTREAM_UNAVAILABLE_CODE, UpstreamConnection, UpstreamSpec, UpstreamStatus

__all__ = [
    "BLOCKED_CODE",
    "UPSTREAM_UNAVAILABLE_CODE",
    "GatewayServer",
    "InspectionContext",
    "Judge",
    "MessageInspector",
    "Policy",
    "PolicyError",
    "PolicyFile",
    "PolicyFormat",
    "PolicySyntaxError",
    "SecurityRequest",
    "TaintTracker",
    "ToolPinStore",
    "UpstreamConnection",
    "UpstreamSpec",
    "UpstreamStatus",
    "Verdict",
    "load_policy",
    "parse_policy",
    "read_policy_document",
    "supervise_upstreams",
]

_EXPORTS: dict[str, str] = {
    "BLOCKED_CODE": "securenet.mcp.gateway",
    "GatewayServer": "securenet.mcp.gateway",
    "supervise_upstreams": "securenet.mcp.gateway",
    "InspectionContext": "securenet.mcp.inspector",
    "MessageInspector": "securenet.mcp.inspector",
    "Verdict": "securenet.mcp.inspector",
    "Judge": "securenet.mcp.judge",
    "SecurityRequest": "securenet.mcp.judge",
    "ToolPinStore": "securenet.mcp.pins",
    "Policy": "securenet.mcp.policy",
    "PolicyError": "securenet.mcp.policy",
    "PolicyFile": "securenet.mcp.policy",
    "PolicyFormat": "securenet.mcp.policy",
    "PolicySyntaxError": "securenet.mcp.policy",
    "load_policy": "securenet.mcp.policy",
    "parse_policy": "securenet.mcp.policy",
    "read_policy_document": "securenet.mcp.policy",
    "TaintTracker": "securenet.mcp.taint",
    "UPSTREAM_UNAVAILABLE_CODE": "securenet.mcp.upstream",
    "UpstreamConnection": "securenet.mcp.upstream",
    "UpstreamSpec": "securenet.mcp.upstream",
    "UpstreamStatus": "securenet.mcp.upstream",
}


__getattr__, __dir__ = lazy_face(globals(), _EXPORTS, __all__)
