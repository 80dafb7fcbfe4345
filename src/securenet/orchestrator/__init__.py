"""The SecurityOrchestrator: every analysis, network or MCP, passes through it.

Public names load on first use (PEP 562), so importing one module of this room loads
only what that module needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
