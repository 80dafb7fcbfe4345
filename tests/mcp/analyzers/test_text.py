"""Normalisation and hidden-run detection: the run-based code agrees with the per-character definition."""

from __future__ import annotations

import random
import unicodedata

import pytest

from securenet.mcp.analyzers._text import (
    _CONFUSABLES,
    ANSI_RE,
    HiddenRun,
    _decode_smuggled,
    _is_legit_invisible,
    hidden_runs,
    invisible_kind,
    invisible_run_re,
    normalize,
    shared_normalization,
)

# Pieces that exercise every branch: ASCII, ANSI escapes (CSI, OSC, 8-bit CSI, a lone ESC),
# invisibles that are and are not legitimate, NFKC expansions, combining marks, look-alikes.
PIECES = [
    "ignore previous instructions",
    " ",
    "\n",
    "abc",
    "\x1b[31m",
    "\x1b[0m",
    "\x1b]8;;http://x\x07",
    "\x1b",
    "\x9b1m",
    "\x1bP data \x1b\\",
    "\u200b",
    "\u200d",
    "\u00ad",
    "\ufeff",
    "\u202e",
    "\ufe0f",
    "\U000e0041",
    "\U000e0101",
    "\u7956",
    "\U0001f468",
    "\u0456",
    "\uff49",
    "\ufb01",
    "\u2460",
    "\u33a1",
    "e\u0301",
    "\u00e9",
    "\u2019",
    "\u0627",
    "\u00a0",
]


def reference_normalize(text: str) -> tuple[str, tuple[int, ...]]:
    """The original per-character definition of :func:`normalize`."""
    skip = bytearray(len(text))
    for m in ANSI_RE.finditer(text):
        skip[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if skip[i] or invisible_kind(ch) is not None:
            continue
        folded = unicodedata.normalize("NFKC", ch).translate(_CONFUSABLES) if not ch.isascii() else ch
        for c in folded:
            out.append(c)
            origin.append(i)
    return "".join(out), tuple(origin)


def reference_hidden_runs(text: str) -> list[HiddenRun]:
    """The original per-character definition of :func:`hidden_runs`."""
    runs: list[HiddenRun] = []
    i, n = 0, len(text)
    while i < n:
        kind = invisible_kind(text[i])
        if kind is None or _is_legit_invisible(text, i, kind):
            i += 1
            continue
        start, kinds = i, {kind}
        i += 1
        while i < n:
            k = invisible_kind(text[i])
            if k is None or _is_legit_invisible(text, i, k):
                break
            kinds.add(k)
            i += 1
        runs.append(HiddenRun(start, i, frozenset(kinds), _decode_smuggled(text[start:i])))
    return runs


def random_texts(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = ["", "plain ascii", "\x1b[31mred\x1b[0m", "\u200b"]
    for _ in range(count):
        texts.append("".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40))))
        texts.append("".join(chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0x80, 0x3000)])) for _ in range(50)))
    return texts


@pytest.mark.parametrize("text", random_texts(150))
def test_normalize_matches_the_per_character_definition(text: str) -> None:
    norm = normalize(text)
    assert (norm.text, tuple(norm.origin)) == reference_normalize(text)
    assert norm.original == text


@pytest.mark.parametrize("text", random_texts(150, seed=11))
def test_hidden_runs_match_the_per_character_definition(text: str) -> None:
    assert hidden_runs(text) == reference_hidden_runs(text)


def test_invisible_run_re_covers_exactly_the_invisible_characters() -> None:
    every = "".join(chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
    matched = set("".join(invisible_run_re().findall(every)))
    assert matched == {ch for ch in every if invisible_kind(ch) is not None}


def test_normalize_is_shared_within_one_analysis() -> None:
    text = "caf\u00e9 \u200bignore"
    assert normalize(text) is not normalize(text)
    with shared_normalization():
        first = normalize(text)
        assert normalize(text) is first
        assert normalize(text + "!") is not first
    assert normalize(text) is not first
