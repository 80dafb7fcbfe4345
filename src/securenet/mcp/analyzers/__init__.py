"""Offline, deterministic text analyzers for MCP traffic.

Every MCP message is analysed without an LLM call or a model download: a tool description
for poisoning (:class:`ToolPoisoningAnalyzer`), a tool result or user message for prompt
injection (:class:`PromptInjectionAnalyzer`), tool-call arguments for secrets
(:class:`SecretAnalyzer`) and for shell injection, path traversal and exfiltration
endpoints (:class:`ArgumentInjectionAnalyzer`). Next to these rule tables, a small learned
classifier (:class:`TextClassifierAnalyzer`, shipped as JSON) scores natural-language text
for injection; its findings add to the rules' in :func:`risk_score`.

    findings = analyze_text(text, "tool_output")
    score = risk_score(findings)
"""

from securenet.mcp.analyzers._arguments import ArgumentInjectionAnalyzer
from securenet.mcp.analyzers._classifier import TextClassifier, TextClassifierAnalyzer
from securenet.mcp.analyzers._filters import FILTERS, register_filter
from securenet.mcp.analyzers._pipeline import (
    DEFAULT_ANALYZERS,
    RULE_ANALYZERS,
    SEVERITY_BANDS,
    analyze_text,
    analyze_tool_definition,
    dedupe_findings,
    risk_score,
    run_analyzers,
)
from securenet.mcp.analyzers._prompt_injection import PromptInjectionAnalyzer
from securenet.mcp.analyzers._rules import Rule
from securenet.mcp.analyzers._secrets import SecretAnalyzer, SecretDetector, luhn_valid
from securenet.mcp.analyzers._text import mask_secret, normalize, shared_normalization
from securenet.mcp.analyzers._tool_poisoning import ToolPoisoningAnalyzer
from securenet.mcp.analyzers._types import CHANNELS, SEVERITIES, Analyzer, Channel, Finding, Severity

__all__ = [
    "CHANNELS",
    "DEFAULT_ANALYZERS",
    "FILTERS",
    "RULE_ANALYZERS",
    "SEVERITIES",
    "SEVERITY_BANDS",
    "Analyzer",
    "ArgumentInjectionAnalyzer",
    "Channel",
    "Finding",
    "PromptInjectionAnalyzer",
    "Rule",
    "SecretAnalyzer",
    "SecretDetector",
    "Severity",
    "TextClassifier",
    "TextClassifierAnalyzer",
    "ToolPoisoningAnalyzer",
    "analyze_text",
    "analyze_tool_definition",
    "dedupe_findings",
    "luhn_valid",
    "mask_secret",
    "normalize",
    "register_filter",
    "risk_score",
    "run_analyzers",
    "shared_normalization",
]
