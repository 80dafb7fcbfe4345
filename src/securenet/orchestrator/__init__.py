"""The SecurityOrchestrator: every analysis, network or MCP, passes through it."""

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
