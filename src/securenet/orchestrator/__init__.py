"""The SecurityOrchestrator: every analysis, network or MCP, passes through it."""

from securenet.orchestrator.model_registry import ModelRegistry
from securenet.orchestrator.orchestrator import FlowAnalysis, SecurityOrchestrator, current_trace_id

__all__ = ["FlowAnalysis", "ModelRegistry", "SecurityOrchestrator", "current_trace_id"]
