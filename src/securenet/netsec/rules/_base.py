"""What every rule shares: the hits and evidence it returns, and the Rule base class."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from securenet.netsec.columns import NO_WINDOW, BoolArray, FloatArray, FlowColumns, IntArray

#: Zeek conn_state values where the TCP handshake never completed: no answer (S0),
#: rejected (REJ), originator gave up after its SYN (RSTOS0, SH) or only the responder's
#: half was seen (RSTRH, SHR). Floods and scans leave these behind.
HALF_OPEN_STATES: frozenset[str] = frozenset({"S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR"})


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """Why a rule fired for one group of flows: who, against whom, when, and by how much.

    ``counts`` holds what was measured and ``thresholds`` what it was compared with,
    under the same keys where they correspond. ``rows`` are the positions (not index
    labels) of the batch rows this evidence made fire.
    """

    rule_id: str
    source: str | None
    target: str | None
    window_start: float | None
    window_end: float | None
    counts: Mapping[str, float]
    thresholds: Mapping[str, float]
    summary: str
    rows: tuple[int, ...]


@dataclass(frozen=True)
class RuleHits:
    """One rule's verdict on a batch: per-row ``fired`` and ``score`` plus the evidence."""

    rule_id: str
    fired: BoolArray
    score: FloatArray
    evidence: tuple[Evidence, ...]

    def __len__(self) -> int:
        return len(self.fired)


class Rule(ABC):
    """Base of every rule: a windowed, thresholded check with a fixed severity.

    Subclasses set ``rule_id`` and ``default_severity`` and implement :meth:`evaluate_columns`.
    """

    rule_id: ClassVar[str]
    default_severity: ClassVar[float]

    def __init__(self, *, window_s: float, severity: float | None) -> None:
        severity = self.default_severity if severity is None else float(severity)
        require(0.0 <= severity <= 1.0, f"severity must be in [0, 1], got {severity}")
        require(np.isfinite(window_s) and window_s > 0, f"window_s must be > 0, got {window_s}")
        self.severity = severity
        self.window_s = float(window_s)

    def evaluate(self, frame: pd.DataFrame) -> RuleHits:
        """Judge a flow batch; the result is aligned with ``frame``'s rows."""
        return self.evaluate_columns(FlowColumns(frame))

    @abstractmethod
    def evaluate_columns(self, columns: FlowColumns) -> RuleHits:
        """Judge a batch through its shared columns (what a :class:`RuleSet` hands every rule)."""

    def _hits(self, fired: BoolArray, evidence: Iterable[Evidence]) -> RuleHits:
        score: FloatArray = np.where(fired, self.severity, 0.0).astype(np.float64)
        return RuleHits(self.rule_id, fired, score, tuple(evidence))

    def _evidence(
        self,
        *,
        source: str | None,
        target: str | None,
        window: int,
        counts: Mapping[str, float],
        thresholds: Mapping[str, float],
        summary: str,
        rows: IntArray,
    ) -> Evidence:
        start, end = window_bounds(window, self.window_s)
        return Evidence(
            rule_id=self.rule_id,
            source=source,
            target=target,
            window_start=start,
            window_end=end,
            counts=dict(counts),
            thresholds=dict(thresholds),
            summary=summary,
            rows=tuple(rows.tolist()),
        )

    def _window_phrase(self, window: int) -> str:
        if window == NO_WINDOW:
            return "in the batch (no timestamps)"
        return f"in {self.window_s:g}s"


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def window_bounds(window: int, window_s: float) -> tuple[float | None, float | None]:
    if window == NO_WINDOW:
        return None, None
    return float(window * window_s), float((window + 1) * window_s)


def fired_rows(n: int, positions: IntArray) -> BoolArray:
    fired = np.zeros(n, dtype=bool)
    fired[positions] = True
    return fired
