"""Declarative rule tables and the scanner that runs them over a normalised text.

A :class:`Rule` is a compiled regex plus what a match means (id, category, severity,
confidence, message). Optional parts keep rules precise without code: ``near`` must also
match within :data:`NEAR_WINDOW` characters of the hit, ``channels`` narrows the rule to
some of its analyzer's channels, and ``filters`` names false-positive filters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

from securenet.mcp.analyzers._anchors import iter_matches
from securenet.mcp.analyzers._filters import first_skipping_filter
from securenet.mcp.analyzers._text import (
    ANSI_RE,
    NormalizedText,
    decode_runs,
    escape_invisible,
    hidden_runs,
    normalize,
    obfuscated_views,
)
from securenet.mcp.analyzers._types import Channel, Finding, Severity, severity_rank

__all__ = [
    "MAX_FINDINGS_PER_RULE",
    "NEAR_WINDOW",
    "HiddenContentPolicy",
    "Rule",
    "escalate",
    "hidden_content_findings",
    "rx",
    "scan_rules",
]

NEAR_WINDOW: Final = 300
"""How far (in normalised characters) a rule's ``near`` pattern may sit from the hit."""

MAX_FINDINGS_PER_RULE: Final = 20
"""A flood of one pattern says no more than twenty of it; the rest are not reported."""


def rx(pattern: str, *, case_sensitive: bool = False) -> re.Pattern[str]:
    """Compile a rule pattern: dot matches newline, case-insensitive unless asked."""
    return re.compile(pattern, re.DOTALL | (0 if case_sensitive else re.IGNORECASE))


@dataclass(frozen=True)
class Rule:
    """One row of an analyzer's rule table."""

    rule_id: str
    category: str
    severity: Severity
    message: str
    pattern: re.Pattern[str]
    confidence: float = 0.9
    channels: frozenset[Channel] | None = None
    near: re.Pattern[str] | None = None
    filters: tuple[str, ...] = ()


def _line_around(text: str, start: int, end: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return text[line_start : line_end if line_end != -1 else len(text)]


def scan_rules(
    analyzer: str, rules: Iterable[Rule], norm: NormalizedText, channel: Channel, *, first_only: bool = False
) -> list[Finding]:
    """Run every rule that applies to ``channel`` over ``norm``; offsets are original.

    With ``first_only`` the scan stops at the first finding.
    """
    findings: list[Finding] = []
    text = norm.text
    for rule in rules:
        if rule.channels is not None and channel not in rule.channels:
            continue
        count = 0
        for m in iter_matches(rule.pattern, text):
            s, e = m.span()
            if e == s:
                continue
            if rule.near is not None and not rule.near.search(text, max(0, s - NEAR_WINDOW), e + NEAR_WINDOW):
                continue
            if rule.filters:
                available = {
                    "value": m.group(),
                    "match": m.group(),
                    "before": text[max(0, s - 80) : s],
                    "line": _line_around(text, s, e),
                    "channel": channel,
                }
                if first_skipping_filter(rule.filters, rule.rule_id, available) is not None:
                    continue
            start, end = norm.span(s, e)
            findings.append(
                Finding(
                    analyzer=analyzer,
                    rule_id=rule.rule_id,
                    severity=rule.severity,
                    category=rule.category,
                    message=rule.message,
                    evidence=escape_invisible(norm.original[start:end]),
                    start=start,
                    end=end,
                    confidence=rule.confidence,
                )
            )
            if first_only:
                return findings
            count += 1
            if count >= MAX_FINDINGS_PER_RULE:
                break
    return findings


@dataclass(frozen=True)
class HiddenContentPolicy:
    """Rule ids and severities an analyzer gives to hidden or encoded content, per channel."""

    invisible_rule: str
    tag_rule: str
    ansi_rule: str
    encoded_rule: str
    encoded_instruction_rule: str
    obfuscated_rule: str
    invisible_severity: Severity
    tag_severity: Severity
    ansi_severity: Severity
    ansi_plain_severity: Severity
    """For colour-only (SGR) escapes, which terminals print all the time."""
    encoded_severity: Severity
    encoded_url_severity: Severity


# SGR (colours and styles) other than 8 (conceal) is how CLIs print colour; cursor moves,
# erase-line, conceal, OSC (hyperlinks, clipboard writes, titles) can hide or spoof text.
_SGR_RE: Final = re.compile(r"\x1b\[([0-9;]*)m")


def _ansi_is_plain(seq: str) -> bool:
    m = _SGR_RE.fullmatch(seq)
    return m is not None and "8" not in m.group(1).split(";")


def hidden_content_findings(
    analyzer: str,
    rules: tuple[Rule, ...],
    norm: NormalizedText,
    channel: Channel,
    policy: HiddenContentPolicy,
    plain: list[Finding],
) -> list[Finding]:
    """Invisible Unicode, ANSI escapes, encoded runs and obfuscated spellings, their hidden text checked by ``rules``.

    ``plain`` are the findings ``rules`` already made on the text itself: an obfuscated
    reading is reported only when it reveals a rule that did not fire there.
    """
    original = norm.original
    findings: list[Finding] = []
    for run in hidden_runs(original)[:MAX_FINDINGS_PER_RULE]:
        smuggled = "tag" in run.kinds or bool(run.decoded)
        decoded_hits = scan_rules(analyzer, rules, normalize(run.decoded), channel) if run.decoded else []
        instructed = any(severity_rank(f.severity) >= 2 for f in decoded_hits)
        severity: Severity = (
            "critical" if instructed else (policy.tag_severity if smuggled else policy.invisible_severity)
        )
        kinds = ", ".join(sorted(run.kinds))
        evidence = f"[{kinds}] {run.decoded}" if run.decoded else escape_invisible(original[run.start : run.end])
        findings.append(
            Finding(
                analyzer=analyzer,
                rule_id=policy.tag_rule if smuggled else policy.invisible_rule,
                severity=severity,
                category="hidden_instruction" if instructed else "invisible_unicode",
                message=(
                    "invisible characters hide an instruction"
                    if instructed
                    else ("invisible characters smuggle text" if smuggled else f"invisible characters ({kinds})")
                ),
                evidence=evidence,
                start=run.start,
                end=run.end,
                confidence=0.95 if smuggled else 0.8,
            )
        )
    ansi = list(ANSI_RE.finditer(original))
    if ansi:
        deceptive = [m for m in ansi if not _ansi_is_plain(m.group())]
        first = (deceptive or ansi)[0]
        last = (deceptive or ansi)[-1]
        findings.append(
            Finding(
                analyzer=analyzer,
                rule_id=policy.ansi_rule,
                severity=policy.ansi_severity if deceptive else policy.ansi_plain_severity,
                category="ansi_escape",
                message=(
                    "ANSI escapes that can hide or rewrite text" if deceptive else "ANSI colour escapes in the text"
                ),
                evidence=escape_invisible(first.group()),
                start=first.start(),
                end=last.end(),
                confidence=0.9 if deceptive else 0.5,
            )
        )
    for dec in decode_runs(norm.text):
        start, end = norm.span(dec.start, dec.end)
        hits = scan_rules(analyzer, rules, normalize(dec.text), channel)
        instructed = any(severity_rank(f.severity) >= 2 for f in hits)
        has_url = "://" in dec.text
        findings.append(
            Finding(
                analyzer=analyzer,
                rule_id=policy.encoded_instruction_rule if instructed else policy.encoded_rule,
                severity="critical"
                if instructed
                else (policy.encoded_url_severity if has_url else policy.encoded_severity),
                category="hidden_instruction" if instructed else "encoded_payload",
                message=(
                    f"{dec.encoding} text decodes to an instruction"
                    if instructed
                    else f"{dec.encoding} run decodes to readable text" + (" with a URL" if has_url else "")
                ),
                evidence=f"{dec.encoding}→{escape_invisible(dec.text)}",
                start=start,
                end=end,
                confidence=0.9 if instructed else 0.6,
            )
        )
    # A view counts only for a high or critical rule that did not fire on the text itself.
    seen = {f.rule_id for f in plain if severity_rank(f.severity) >= 2}
    unseen = [r for r in rules if severity_rank(r.severity) >= 2 and r.rule_id not in seen]
    for transform, view in obfuscated_views(norm.text):
        fresh = scan_rules(analyzer, unseen, normalize(view), channel, first_only=True)
        if fresh:
            findings.append(
                Finding(
                    analyzer=analyzer,
                    rule_id=policy.obfuscated_rule,
                    severity="critical",
                    category="hidden_instruction",
                    message=f"instruction hidden by {transform}",
                    evidence=f"{transform}→{fresh[0].evidence}",
                    start=0,
                    end=len(original),
                    confidence=0.8,
                )
            )
            break
    return findings


def escalate(findings: list[Finding], categories: frozenset[str], to: Severity, when: frozenset[str]) -> list[Finding]:
    """Raise findings in ``categories`` to ``to`` when any finding of a ``when`` category is critical."""
    if not any(f.category in when and f.severity == "critical" for f in findings):
        return findings
    return [
        replace(f, severity=to) if f.category in categories and severity_rank(f.severity) < severity_rank(to) else f
        for f in findings
    ]
