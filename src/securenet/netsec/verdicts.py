"""From model scores and rule hits to per-flow verdicts and per-source incidents.

A verdict's ``score`` is one number in [0, 1] that both detectors speak:

* the anomaly model's calibrated score is mapped piecewise-linearly so that its frozen
  threshold lands exactly on 0.4, the seed's "medium" boundary: below the threshold a
  flow is "low" and not a threat, at or above it the level rises with the score;
* a rule that fired contributes its severity.

The verdict takes the larger of the two, so ``is_threat`` is exactly ``score >= 0.4``
and the level always agrees with it. The mapping is monotone, so ranking metrics
(ROC-AUC) of the model are unchanged.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from securenet.netsec.rules import RuleSetHits

__all__ = [
    "LEVELS",
    "MODEL_DETECTOR",
    "THREAT_THRESHOLD",
    "Incident",
    "Verdicts",
    "build_verdicts",
    "level_of",
    "merge_incidents",
    "model_to_verdict_score",
]

#: The seed's severity thresholds, highest first.
LEVELS: tuple[tuple[str, float], ...] = (("critical", 0.8), ("high", 0.6), ("medium", 0.4), ("low", 0.0))
THREAT_THRESHOLD = 0.4
MODEL_DETECTOR = "anomaly_model"
#: Up to this many detectors, rows are coded by which fired (one bit each) for a lookup table.
_MAX_BIT_CODED_DETECTORS = 16
LEVEL_RANK = {name: rank for rank, (name, _) in enumerate(reversed(LEVELS))}

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def model_to_verdict_score(scores: FloatArray, threshold: float) -> FloatArray:
    """Map calibrated model scores so that ``threshold`` becomes 0.4 (monotone, [0, 1])."""
    scores = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    t = min(max(threshold, 1e-9), 1 - 1e-9)
    below = THREAT_THRESHOLD * scores / t
    above = THREAT_THRESHOLD + (1 - THREAT_THRESHOLD) * (scores - t) / (1 - t)
    result: FloatArray = np.where(scores < t, below, above)
    return result


def level_of(scores: FloatArray) -> npt.NDArray[np.object_]:
    """The seed's level names for an array of verdict scores."""
    result: npt.NDArray[np.object_] = _LEVEL_NAMES[_level_index(scores)]
    return result


_LEVEL_NAMES = np.array([name for name, _ in LEVELS], dtype=object)
_LEVEL_BOUNDS = np.array([bound for _, bound in LEVELS])


def _level_index(scores: FloatArray) -> npt.NDArray[np.intp]:
    """Position in :data:`LEVELS` of each score's level: the first bound (from the top) it reaches."""
    index: npt.NDArray[np.intp] = np.argmax(scores[:, None] >= _LEVEL_BOUNDS[None, :], axis=1)
    return index


@dataclass(frozen=True)
class Incident:
    """Threat verdicts from one source, grouped."""

    source: str
    flows: int
    max_score: float
    level: str
    detectors: tuple[str, ...]
    first_ts: float | None
    last_ts: float | None
    #: Batch positions of the first flows in the incident (at most 20).
    sample_rows: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "flows": self.flows,
            "max_score": round(self.max_score, 6),
            "level": self.level,
            "detectors": list(self.detectors),
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "sample_rows": list(self.sample_rows),
        }


@dataclass(frozen=True)
class Verdicts:
    """Columnar verdicts for one batch, aligned with its rows.

    Which detectors fired is a boolean matrix (rows x ``detector_names``), so that no
    per-flow Python object is built unless a caller asks for one row's record.
    """

    score: FloatArray
    level: npt.NDArray[np.object_]
    is_threat: BoolArray
    detector_names: tuple[str, ...]
    fired: BoolArray
    explanation: npt.NDArray[np.object_]
    incidents: list[Incident] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.score.shape[0])

    @property
    def threat_count(self) -> int:
        return int(self.is_threat.sum())

    @property
    def max_level(self) -> str:
        if len(self) == 0:
            return "low"
        return str(level_of(np.array([self.score.max()]))[0])

    def detectors(self, row: int) -> list[str]:
        return [name for name, hit in zip(self.detector_names, self.fired[row].tolist(), strict=True) if hit]

    def level_counts(self) -> dict[str, int]:
        counts = np.bincount(_level_index(self.score), minlength=len(LEVELS))
        return {name: int(count) for (name, _), count in zip(LEVELS, counts.tolist(), strict=True)}

    def record(self, row: int, index: int | None = None) -> dict[str, Any]:
        """One verdict as a JSON-ready dict (the CLI's and API's shape)."""
        return {
            "index": row if index is None else index,
            "score": round(float(self.score[row]), 6),
            "level": str(self.level[row]),
            "is_threat": bool(self.is_threat[row]),
            "detectors": self.detectors(row),
            "explanation": str(self.explanation[row]),
        }

    def to_frame(self, first_index: int | npt.NDArray[np.int64] = 0) -> pd.DataFrame:
        """All verdicts as a DataFrame with the record's columns, built without a per-row loop.

        ``first_index`` numbers the rows from there, or is the index of each row.
        """
        n = len(self)
        index = np.arange(first_index, first_index + n) if isinstance(first_index, int) else first_index
        if len(index) != n:
            raise ValueError(f"{len(index)} indices for {n} verdicts")
        # One list per distinct combination of detectors, shared by the rows that have it
        # (read-only: the frame is for writing out). Rows are coded by their detectors as
        # bits (np.unique(axis=0) sorts whole rows: 10x slower).
        names = np.asarray(self.detector_names, dtype=object)
        if names.size <= _MAX_BIT_CODED_DETECTORS:
            bits = np.left_shift(1, np.arange(names.size, dtype=np.int64))
            codes = self.fired.astype(np.int64) @ bits
            present = np.flatnonzero(np.bincount(codes, minlength=1))
            patterns, inverse = (present[:, None] & bits) != 0, np.searchsorted(present, codes)
        else:  # too many detectors to code as bits: the slower sort of whole rows
            patterns, inverse = np.unique(self.fired, axis=0, return_inverse=True)
        lists = np.empty(len(patterns), dtype=object)
        for i, pattern in enumerate(patterns):
            lists[i] = names[pattern].tolist()
        detectors = lists[inverse.reshape(-1)]
        return pd.DataFrame(
            {
                "index": index,
                "score": np.round(self.score, 6),
                "level": self.level,
                "is_threat": self.is_threat,
                "detectors": detectors,
                "explanation": self.explanation,
            }
        )

    def to_ndjson(self, first_index: int | npt.NDArray[np.int64] = 0) -> str:
        """The records of :meth:`to_frame` as newline-delimited JSON, one line per verdict."""
        if not len(self):
            return ""
        text: str = self.to_frame(first_index).to_json(orient="records")
        # pandas' own lines=True re-scans the whole array for top-level commas, which cost
        # a third of the writing. Every record starts with the key "index", and a '"' inside
        # a JSON string is always escaped, so '},{"index":' only ever joins two records.
        return text[1:-1].replace('},{"index":', '}\n{"index":') + "\n"


def build_verdicts(
    frame: pd.DataFrame,
    *,
    model_scores: FloatArray | None,
    model_threshold: float | None,
    model_explanations: tuple[npt.NDArray[np.intp], Sequence[str]] | None,
    rule_hits: RuleSetHits | None,
) -> Verdicts:
    """Combine a batch's model scores (optional) and rule hits (optional) into verdicts.

    ``model_explanations`` are rows of the batch and the explanation text of each
    (:meth:`FeatureExplanation.texts`).
    """
    n = len(frame)
    score = np.zeros(n)
    model_flag = np.zeros(n, dtype=bool)
    if model_scores is not None and model_threshold is not None:
        mapped = model_to_verdict_score(model_scores, model_threshold)
        model_flag = mapped >= THREAT_THRESHOLD
        score = mapped
    rule_fired = np.zeros((n, 0), dtype=bool)
    rule_ids: tuple[str, ...] = ()
    if rule_hits is not None:
        score = np.maximum(score, rule_hits.score)
        rule_fired, rule_ids = rule_hits.fired, rule_hits.rule_ids
    is_threat = score >= THREAT_THRESHOLD
    level = level_of(score)

    names = ((MODEL_DETECTOR,) if model_scores is not None else ()) + rule_ids
    fired = np.column_stack([model_flag, rule_fired]) if model_scores is not None else rule_fired
    fired = fired.reshape(n, len(names))
    explanation = np.full(n, "", dtype=object)
    if model_explanations is not None:
        rows, texts = model_explanations
        explanation[rows] = np.asarray(texts, dtype=object).reshape(-1)
    if rule_hits is not None:
        for evidence in rule_hits.evidence:
            for row in evidence.rows:
                # Rule evidence is the more concrete explanation: it goes first.
                explanation[row] = (
                    evidence.summary if not explanation[row] else f"{evidence.summary}; {explanation[row]}"
                )
    verdicts = Verdicts(score, level, is_threat, names, fired, explanation)
    return Verdicts(score, level, is_threat, names, fired, explanation, incidents=group_incidents(frame, verdicts))


def group_incidents(frame: pd.DataFrame, verdicts: Verdicts, sample: int = 20) -> list[Incident]:
    """Group threat verdicts by source address (``unknown`` when the flow has none).

    Grouping is array work (factorize, one stable sort, ``reduceat``); Python runs once
    per incident, to build it.
    """
    rows = np.flatnonzero(verdicts.is_threat)
    if rows.size == 0:
        return []
    sources = frame["orig_h"].to_numpy(dtype=object)[rows] if "orig_h" in frame else np.full(rows.size, None)
    ts = frame["ts"].to_numpy(dtype=np.float64)[rows] if "ts" in frame else np.full(rows.size, np.nan)
    codes, names = pd.factorize(pd.Series(sources, dtype=object).fillna("unknown").astype(str))
    order = np.argsort(codes, kind="stable")  # rows stay in batch order within a source
    members = rows[order]
    starts = np.flatnonzero(np.diff(codes[order], prepend=-1))
    counts = np.diff(np.append(starts, members.size))
    max_score = np.maximum.reduceat(verdicts.score[members], starts)
    ordered_ts = ts[order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN groups stay NaN
        first_ts = np.fmin.reduceat(ordered_ts, starts)
        last_ts = np.fmax.reduceat(ordered_ts, starts)
    fired = np.logical_or.reduceat(verdicts.fired[members], starts, axis=0) if verdicts.fired.shape[1] else None
    levels = level_of(max_score)
    detector_names = np.asarray(verdicts.detector_names, dtype=object)
    incidents = []
    for group, (start, count) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
        detectors = () if fired is None else tuple(detector_names[fired[group]].tolist())
        first, last = float(first_ts[group]), float(last_ts[group])
        incidents.append(
            Incident(
                source=str(names[codes[order[start]]]),
                flows=count,
                max_score=float(max_score[group]),
                level=str(levels[group]),
                detectors=detectors,
                first_ts=None if math.isnan(first) else first,
                last_ts=None if math.isnan(last) else last,
                sample_rows=tuple(members[start : start + min(count, sample)].tolist()),
            )
        )
    incidents.sort(key=lambda i: (-i.max_score, -i.flows))
    return incidents


def merge_incidents(incidents: Iterable[Incident], sample: int = 20) -> list[Incident]:
    """Merge incidents of the same source found in different batches of one stream."""
    merged: dict[str, Incident] = {}
    for incident in incidents:
        seen = merged.get(incident.source)
        if seen is None:
            merged[incident.source] = incident
            continue
        top = incident if incident.max_score > seen.max_score else seen
        times = [t for t in (seen.first_ts, seen.last_ts, incident.first_ts, incident.last_ts) if t is not None]
        merged[incident.source] = Incident(
            source=incident.source,
            flows=seen.flows + incident.flows,
            max_score=top.max_score,
            level=top.level,
            detectors=tuple(dict.fromkeys((*seen.detectors, *incident.detectors))),
            first_ts=min(times) if times else None,
            last_ts=max(times) if times else None,
            sample_rows=(seen.sample_rows + incident.sample_rows)[:sample],
        )
    return sorted(merged.values(), key=lambda i: (-i.max_score, -i.flows))
