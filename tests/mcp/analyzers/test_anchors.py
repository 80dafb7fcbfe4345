"""Anchored matching finds exactly what ``finditer`` finds, for every rule of every analyzer."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from securenet.mcp.analyzers import (
    ArgumentInjectionAnalyzer,
    PromptInjectionAnalyzer,
    SecretAnalyzer,
    ToolPoisoningAnalyzer,
)
from securenet.mcp.analyzers._anchors import LINE_START, case_fold, iter_matches, match_prefixes, required_literals
from securenet.mcp.analyzers._secrets import _ASSIGNMENT, _ENV_LINE
from securenet.mcp.analyzers._text import _DECODERS, _REVERSED_HINT_RE
from tests.mcp.corpus import load_fixtures

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

RULE_PATTERNS = {
    **{
        f"{analyzer.name}:{rule.rule_id}": rule.pattern
        for analyzer in (ToolPoisoningAnalyzer(), PromptInjectionAnalyzer(), ArgumentInjectionAnalyzer())
        for rule in analyzer.rules
    },
    **{
        f"secrets:{detector.rule_id}:{i}": pattern
        for detector in SecretAnalyzer.detectors
        for i, pattern in enumerate(detector.denylist)
    },
    "secrets:env_line": _ENV_LINE,
    "secrets:assignment": _ASSIGNMENT,
    "reversed_hint": _REVERSED_HINT_RE,
    **{f"decoder:{name}": pattern for name, pattern, _, _ in _DECODERS},
}


def corpus() -> list[str]:
    """Fixture texts, the same with shuffled case and look-alike letters, and random keyword soup."""
    texts = [row.text for row in load_fixtures(FIXTURES)]
    rng = random.Random(3)
    words = [w for t in texts for w in re.findall(r"\S+", t)]
    texts += ["".join(c.upper() if rng.random() < 0.3 else c for c in t) for t in texts[:60]]
    texts += [t.replace("i", "\u0130").replace("s", "\u017f").replace("k", "\u212a") for t in texts[:60]]
    texts += ["\n".join(" ".join(rng.choice(words) for _ in range(12)) for _ in range(8)) for _ in range(60)]
    return texts


CORPUS = corpus()


@pytest.mark.parametrize("name", sorted(RULE_PATTERNS))
def test_iter_matches_equals_finditer(name: str) -> None:
    pattern = RULE_PATTERNS[name]
    for text in CORPUS:
        expected = [(m.span(), m.groups()) for m in pattern.finditer(text)]
        assert [(m.span(), m.groups()) for m in iter_matches(pattern, text)] == expected, text


def test_most_rules_are_anchored() -> None:
    anchored = [name for name, pattern in RULE_PATTERNS.items() if match_prefixes(pattern) is not None]
    assert len(anchored) >= 0.8 * len(RULE_PATTERNS)


@pytest.mark.parametrize(
    ("pattern", "prefixes"),
    [
        (r"\b(?:ignore|disregard)\s+x", {"ignore", "disregar"}),  # cut to MAX_PREFIX_CHARS
        (r"(?:sk|rk)_live_\w+", {"sk_live_", "rk_live_"}),
        (r"e-?mail", {"e-mail", "email"}),
        (r"(?:https?://)?host", {"https://", "http://h", "host"}),
        (r"(?<![\w-])abc", {"abc"}),
        (r"[Ab]cd", {"acd", "bcd"}),
        (r"(?m:^\s*SYSTEM\s*:)", {LINE_START}),
        (r"ab|abc", {"ab"}),
        (r"caf[ée]s", {"caf"}),
        (r"\d+", None),
        (r"x?y*", None),
    ],
)
def test_match_prefixes(pattern: str, prefixes: set[str] | None) -> None:
    found = match_prefixes(re.compile(pattern, re.IGNORECASE))
    assert (set(found) if found is not None else None) == prefixes


@pytest.mark.parametrize(
    ("pattern", "required"),
    [
        (r"\d+\.(?:webhook\.site|pipedream\.net)", {"webhook.site", "pipedream.net"}),
        (r"[a-z]+://\S+@", {"://"}),
        (r"\d+", None),
    ],
)
def test_required_literals(pattern: str, required: set[str] | None) -> None:
    found = required_literals(re.compile(pattern, re.IGNORECASE))
    assert (set(found) if found is not None else None) == required


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"(?m:^\s*SYSTEM\s*:)", "SYSTEM: a\n  SYSTEM: b\n\n\nSYSTEM:"),
        (r"(?m:^\s*x)|y", "x\ny\n x y\n\nx"),
        (r"\bKey\b", "\u212aey KEY key"),
        (r"a\n|^b", "a\nb\na\nb"),
    ],
)
def test_iter_matches_handles_line_starts_and_folding(pattern: str, text: str) -> None:
    compiled = re.compile(pattern, re.IGNORECASE)
    assert [m.span() for m in iter_matches(compiled, text)] == [m.span() for m in compiled.finditer(text)]


def test_case_fold_covers_every_character_an_ascii_letter_matches() -> None:
    every = "".join(chr(cp) for cp in range(0x80, 0x110000) if not 0xD800 <= cp <= 0xDFFF)
    letters = set(re.findall(r"[a-z]", every, re.IGNORECASE))
    for ch in letters:
        assert re.fullmatch(case_fold(ch), ch, re.IGNORECASE), hex(ord(ch))
    assert {ch for ch in every if case_fold(ch) != ch} == letters
    odd = "\u0130\u0131\u017f\u212a Hello"
    assert case_fold(odd) == "iisk hello"
