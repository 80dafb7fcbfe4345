"""The public surface of securenet.mcp.analyzers: a stable ``__all__`` (ruff RUF022 keeps it sorted)."""

from __future__ import annotations

import securenet.mcp.analyzers as analyzers


def test_public_names() -> None:
    assert set(analyzers.__all__) == {
        "CHANNELS",
        "DEFAULT_ANALYZERS",
        "FILTERS",
        "SEVERITIES",
        "SEVERITY_BANDS",
        "Analyzer",
        "ArgumentInjectionAnalyzer",
        "Channel",
        "Finding",
        "PromptInjectionAnalyzer",
        "RULE_ANALYZERS",
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
    }
    for name in analyzers.__all__:
        assert getattr(analyzers, name) is not None


def test_private_modules_declare_their_exports() -> None:
    from securenet.mcp.analyzers import (
        _anchors,
        _classifier,
        _filters,
        _patterns,
        _pipeline,
        _rules,
        _secrets,
        _text,
        _types,
    )

    for module in (_anchors, _classifier, _filters, _patterns, _pipeline, _rules, _secrets, _text, _types):
        assert len(module.__all__) == len(set(module.__all__)), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)
