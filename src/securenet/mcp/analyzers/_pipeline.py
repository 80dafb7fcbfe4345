"""Running the analyzers over a text, merging their findings, and scoring the result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from securenet.mcp.analyzers._arguments import ArgumentInjectionAnalyzer
from securenet.mcp.analyzers._classifier import TextClassifierAnalyzer
from securenet.mcp.analyzers._prompt_injection import PromptInjectionAnalyzer
from securenet.mcp.analyzers._secrets import SecretAnalyzer
from securenet.mcp.analyzers._text import shared_normalization
from securenet.mcp.analyzers._tool_poisoning import ToolPoisoningAnalyzer, iter_tool_texts
from securenet.mcp.analyzers._types import Analyzer, Channel, Finding, Severity, severity_rank
from securenet.telemetry import trace_operation

__all__ = [
    "DEFAULT_ANALYZERS",
    "RULE_ANALYZERS",
    "SEVERITY_BANDS",
    "analyze_text",
    "analyze_tool_definition",
    "dedupe_findings",
    "risk_score",
    "run_analyzers",
]

RULE_ANALYZERS: Final[tuple[Analyzer, ...]] = (
    ToolPoisoningAnalyzer(),
    PromptInjectionAnalyzer(),
    SecretAnalyzer(),
    ArgumentInjectionAnalyzer(),
)
"""The rule-based analyzers, in the order they run."""

DEFAULT_ANALYZERS: Final[tuple[Analyzer, ...]] = (*RULE_ANALYZERS, TextClassifierAnalyzer())
"""Every built-in analyzer: the rules, then the learned text classifier (its model loads on first use)."""

SEVERITY_BANDS: Final[Mapping[Severity, tuple[float, float]]] = {
    "low": (0.2, 0.45),
    "medium": (0.45, 0.7),
    "high": (0.7, 0.9),
    "critical": (0.9, 0.99),
}
"""Each severity's score band: a finding scores ``lo + (hi - lo) * confidence``."""


def _rank(f: Finding) -> tuple[int, float, int]:
    return severity_rank(f.severity), f.confidence, f.end - f.start


def dedupe_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Keep the strongest of findings that share a category and overlap; order by position.

    Different categories over the same span (a secret inside an exfiltration URL) are kept:
    each says something the other does not.
    """
    kept: list[Finding] = []
    for f in sorted(findings, key=_rank, reverse=True):
        if not any(
            k.category == f.category and k.start < max(f.end, f.start + 1) and f.start < max(k.end, k.start + 1)
            for k in kept
        ):
            kept.append(f)
    return sorted(kept, key=lambda f: (f.start, f.end, f.rule_id))


def run_analyzers(
    texts: Sequence[tuple[str, Channel]], analyzers: Sequence[Analyzer] = DEFAULT_ANALYZERS, *, traced: bool = False
) -> list[list[Finding]]:
    """The one analyzer loop: each text's findings from every analyzer that reads its channel,
    deduplicated, in text order. Every analyzer reads the same normalised view of a text; with
    ``traced`` each analyzer that runs gets its own span with its finding count."""
    per_text: list[list[Finding]] = [[] for _ in texts]
    with shared_normalization():
        for analyzer in analyzers:
            relevant = [i for i, (_, channel) in enumerate(texts) if channel in analyzer.channels]
            if not relevant:
                continue
            if not traced:
                for i in relevant:
                    per_text[i].extend(analyzer.analyze(*texts[i]))
                continue
            name = analyzer.name
            with trace_operation(f"analyzer {name}", **{"securenet.analyzer.name": name}) as span:
                found = 0
                for i in relevant:
                    results = analyzer.analyze(*texts[i])
                    per_text[i].extend(results)
                    found += len(results)
                span.set_attribute("securenet.analyzer.findings", found)
    return [dedupe_findings(findings) if findings else [] for findings in per_text]


def analyze_text(text: str, channel: Channel, analyzers: Sequence[Analyzer] = DEFAULT_ANALYZERS) -> list[Finding]:
    """Findings of every analyzer that applies to ``channel``, deduplicated, in text order."""
    return run_analyzers([(text, channel)], analyzers)[0]


def analyze_tool_definition(
    tool: Mapping[str, object], analyzers: Sequence[Analyzer] = DEFAULT_ANALYZERS
) -> dict[str, list[Finding]]:
    """Findings per text of an MCP tool definition (description, schema descriptions, enums, defaults).

    Keys are paths such as ``inputSchema.properties.path.description``; offsets in each
    finding are relative to that text. Texts with no finding are left out.
    """
    results: dict[str, list[Finding]] = {}
    for path, text in iter_tool_texts(tool):
        found = analyze_text(text, "tool_description", analyzers)
        if found:
            results[path] = found
    return results


def risk_score(findings: Iterable[Finding]) -> float:
    """Noisy-or of per-finding scores, each placed in its severity's band by its confidence.

    One critical finding alone scores at least 0.9, high 0.7, medium 0.45, low 0.2. Adding
    a finding, or raising one's severity or confidence, never lowers the score.
    """
    miss = 1.0
    for f in findings:
        lo, hi = SEVERITY_BANDS[f.severity]
        miss *= 1.0 - (lo + (hi - lo) * f.confidence)
    return round(1.0 - miss, 6)
