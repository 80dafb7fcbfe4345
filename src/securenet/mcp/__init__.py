"""MCP security: the analyzers, the message inspector and its policy, tool pins, taint, and the gateway.

The gateway (``GatewayServer``, one per upstream) hands every MCP message to an analysis
callback; ``MessageInspector`` judges a message with the analyzers (:mod:`securenet.mcp.analyzers`),
tool pins, shadowing and taint checks, decided by a ``Policy``.
"""

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
