"""The SecurityOrchestrator: every analysis, network or MCP, passes through it.

Public names load on first use (PEP 562), so importing one module of this room loads
only what that module needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from securenet._faces import lazy_face

if TYPE_CHECKING:
    from securenet.orchestrator.model_registry import ModelRegistry
    from securenet.orchestrator.orchestrator import FlowAnalysis, SecurityOrchestrator, SecurityRequest
    from securenet.orchestrator.policies import PolicyProvider

__all__ = [
    "FlowAnalysis",
    "ModelRegistry",
    "PolicyProvider",
    "SecurityOrchestrator",
    "SecurityRequest",
]

_EXPORTS: dict[str, str] = {
    "ModelRegistry": "securenet.orchestrator.model_registry",
    "FlowAnalysis": "securenet.orchestrator.orchestrator",
    "SecurityOrchestrator": "securenet.orchestrator.orchestrator",
    "SecurityRequest": "securenet.orchestrator.orchestrator",
    "PolicyProvider": "securenet.orchestrator.policies",
}


__getattr__, __dir__ = lazy_face(globals(), _EXPORTS, __all__)
