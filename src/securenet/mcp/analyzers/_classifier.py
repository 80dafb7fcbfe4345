"""A small learned text classifier for prompt injection, next to the rules.

The rules match what someone wrote down; the classifier generalises a little past that from
labelled examples (``scripts/train_text_classifier.py``). It is a logistic regression over
TF-IDF weighted character n-grams (3 to 5) and word uni- and bigrams
of the normalised, lower-cased text. The model ships as JSON (``text_classifier.json``: each
n-gram's idf and idf-scaled weight, the intercept, the thresholds and the training record)
and is read with :mod:`json` alone: nothing is unpickled and no training data is needed at
run time.

A text is cut into windows of about :attr:`TextClassifier.window_chars` characters; only the
first few and the last few windows are scored (``max_windows`` in all), so the cost is
bounded however long the text. The best window becomes at most one finding:

* probability >= ``threshold``: ``high`` (on its own enough to flag at ``risk_score >= 0.7``);
* probability >= ``medium_threshold``: ``medium``, which flags only together with a rule finding.

Findings use the category ``injection_classifier`` so that :func:`dedupe_findings` never
trades a rule finding for a classifier one: the classifier can only add to the rules' score.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from securenet.mcp.analyzers._text import normalize
from securenet.mcp.analyzers._types import Channel, Finding, Severity

__all__ = [
    "MODEL_FORMAT",
    "MODEL_PATH",
    "TextClassifier",
    "TextClassifierAnalyzer",
    "default_classifier",
    "featurize",
    "text_windows",
]

MODEL_PATH: Final = Path(__file__).with_name("text_classifier.json")
"""The shipped model, written by ``scripts/train_text_classifier.py``."""

MODEL_FORMAT: Final = "securenet-text-classifier/1"

CHAR_NGRAMS: Final = (3, 4, 5)
MAX_WORD_CHARS: Final = 32
"""Only a word's first characters give character n-grams: a 2 kB base64 run is one long word
whose n-grams are noise, and would otherwise dominate the cost."""

EVIDENCE_CHARS: Final = 80
"""Evidence is the most suspicious sentence of the flagged window, cut to this many characters."""

_WORD_RE: Final = re.compile(r"\w+")
_SENTENCE_RE: Final = re.compile(r"[^\n.!?]+[.!?]*")


def featurize(text: str) -> list[str]:
    """The n-grams of one (normalised) text, repeated as often as they occur.

    Character 3- to 5-grams of the lower-cased text with runs of whitespace made one space
    and each word cut to :data:`MAX_WORD_CHARS`, then word unigrams and bigrams prefixed
    ``w:``. Training and inference both call this, so they cannot drift apart.
    """
    flat = " " + " ".join([word[:MAX_WORD_CHARS] for word in text.lower().split()]) + " "
    size = len(flat)
    grams: list[str] = []
    for n in CHAR_NGRAMS:
        grams += [flat[i : i + n] for i in range(size - n + 1)]
    words = _WORD_RE.findall(flat)
    grams += ["w:" + w for w in words]
    grams += [f"w:{a} {b}" for a, b in itertools.pairwise(words)]
    return grams


def text_windows(text: str, size: int) -> list[tuple[int, int]]:
    """``(start, end)`` of consecutive windows of at most ``size`` characters covering ``text``.

    A window ends at the last line break, or else the last space, in its second half, so
    that a sentence is cut as seldom as possible. Whitespace-only windows are left out.
    """
    spans = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind("\n", start + size // 2, end)
            if cut == -1:
                cut = text.rfind(" ", start + size // 2, end)
            if cut != -1:
                end = cut + 1
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    return spans


@dataclass(frozen=True)
class TextClassifier:
    """A linear model over :func:`featurize` n-grams: ``P(injection | window)``."""

    weights: Mapping[str, tuple[float, float]]
    """n-gram -> (coefficient x idf, idf)."""
    intercept: float
    threshold: float
    medium_threshold: float
    window_chars: int
    max_windows: int
    metadata: Mapping[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextClassifier:
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} model: {data.get('format')!r}")
        weights = {gram: (float(w), float(idf)) for gram, (w, idf) in data["features"].items()}
        return cls(
            weights=weights,
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            medium_threshold=float(data["medium_threshold"]),
            window_chars=int(data["window_chars"]),
            max_windows=int(data["max_windows"]),
            metadata=dict(data.get("metadata", {})),
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> TextClassifier:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def probability(self, text: str) -> float:
        """Probability that ``text`` (one window, already normalised) is an injection."""
        dot = 0.0
        norm = 0.0
        weights = self.weights
        counts = Counter(featurize(text))
        # Most n-grams of a window are not in the model; filter() drops them at C speed, in order.
        for gram in filter(weights.__contains__, counts):
            entry = weights[gram]
            count = counts[gram]
            tf = 1.0 + math.log(count) if count > 1 else 1.0
            dot += tf * entry[0]
            norm += (tf * entry[1]) ** 2
        z = self.intercept + (dot / math.sqrt(norm) if norm else 0.0)
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0

    def scored_windows(self, text: str) -> list[tuple[int, int]]:
        """The windows of ``text`` that are scored: the first ones and the last ones, ``max_windows`` in all."""
        spans = text_windows(text, self.window_chars)
        if len(spans) <= self.max_windows:
            return spans
        tail = self.max_windows // 4
        return spans[: self.max_windows - tail] + spans[len(spans) - tail :]

    def best_window(self, text: str) -> tuple[float, int, int]:
        """``(probability, start, end)`` of the most suspicious scored window; ``(0, 0, 0)`` for blank text."""
        best = (0.0, 0, 0)
        for start, end in self.scored_windows(text):
            p = self.probability(text[start:end])
            if p > best[0]:
                best = (p, start, end)
        return best


@cache
def default_classifier() -> TextClassifier:
    """The shipped model, read once."""
    return TextClassifier.load()


class TextClassifierAnalyzer:
    """Flags text the learned classifier finds likely to be a prompt injection."""

    name = "text_classifier"
    channels: frozenset[Channel] = frozenset({"tool_output", "user_input", "tool_description"})

    def __init__(self, model: TextClassifier | None = None) -> None:
        self._model = model

    @property
    def model(self) -> TextClassifier:
        if self._model is None:
            self._model = default_classifier()
        return self._model

    def analyze(self, text: str, channel: Channel) -> list[Finding]:
        if channel not in self.channels or not text or not text.strip():
            return []
        model = self.model
        norm = normalize(text)
        p, start, end = model.best_window(norm.text)
        if p < model.medium_threshold:
            return []
        severity: Severity
        if p >= model.threshold:
            severity = "high"
            confidence = (p - model.threshold) / (1.0 - model.threshold)
        else:
            # Kept under 0.9 so that a medium finding alone stays below risk 0.7.
            severity = "medium"
            confidence = 0.9 * (p - model.medium_threshold) / (model.threshold - model.medium_threshold)
        start, end = self._evidence_span(norm.text, start, end)
        first, last = norm.span(start, end)
        evidence = text[first:last]
        if len(evidence) > EVIDENCE_CHARS:
            evidence = evidence[: EVIDENCE_CHARS - 1] + "…"
        return [
            Finding(
                analyzer=self.name,
                rule_id="classifier.prompt_injection",
                severity=severity,
                category="injection_classifier",
                message=f"reads like a prompt injection to the learned classifier (p={p:.2f})",
                evidence=evidence,
                start=first,
                end=last,
                confidence=round(min(max(confidence, 0.0), 1.0), 6),
            )
        ]

    def _evidence_span(self, text: str, start: int, end: int) -> tuple[int, int]:
        """The most suspicious sentence of the window ``text[start:end]`` (whitespace trimmed)."""
        best = (-1.0, start, end)
        for m in _SENTENCE_RE.finditer(text, start, end):
            if m.group().strip():
                p = self.model.probability(m.group())
                if p > best[0]:
                    best = (p, m.start(), m.end())
        _, a, b = best
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        return a, b
