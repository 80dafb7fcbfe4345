"""From a network analysis (canonical flows and their verdicts) to the plain rows the store keeps.

The store knows tables, not DataFrames or verdicts; this is the one place that maps one to
the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from securenet.netsec.verdicts import Verdicts
from securenet.store.detections import DetectionRow, FlowAnalysisRow, IncidentRow

__all__ = ["flow_analysis_row"]


def flow_analysis_row(kind: str, frame: pd.DataFrame, verdicts: Verdicts, model_version: str | None) -> FlowAnalysisRow:
    """The analysis of ``frame`` as a row: a detection per threat verdict, and the incidents."""
    rows = np.flatnonzero(verdicts.is_threat)
    sources = _column(frame, "orig_h", rows)
    destinations = _column(frame, "resp_h", rows)
    ports = _column(frame, "resp_p", rows)
    stamps = _column(frame, "ts", rows)
    detections = [
        DetectionRow(
            flow_index=row,
            flow_ts=_float(stamps[i]),
            source=_text(sources[i]),
            destination=_text(destinations[i]),
            destination_port=None if _float(ports[i]) is None else int(ports[i]),
            score=float(verdicts.score[row]),
            level=str(verdicts.level[row]),
            detectors=verdicts.detectors(row),
            explanation=str(verdicts.explanation[row]),
        )
        for i, row in enumerate(rows.tolist())
    ]
    incidents = [
        IncidentRow(
            source=incident.source,
            flows=incident.flows,
            max_score=incident.max_score,
            level=incident.level,
            detectors=incident.detectors,
            first_ts=incident.first_ts,
            last_ts=incident.last_ts,
        )
        for incident in verdicts.incidents
    ]
    return FlowAnalysisRow(
        kind=kind,
        flow_count=len(verdicts),
        threat_count=verdicts.threat_count,
        max_level=verdicts.max_level,
        model_version=model_version,
        detections=detections,
        incidents=incidents,
    )


def _column(frame: pd.DataFrame, name: str, rows: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    if name not in frame:
        return np.full(rows.size, None, dtype=object)
    values: npt.NDArray[Any] = frame[name].to_numpy(dtype=object)[rows]
    return values


def _float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if np.isnan(number) else number


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
