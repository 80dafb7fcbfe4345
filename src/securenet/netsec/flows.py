"""The canonical flow record, modelled on Zeek's conn.log.

Readers convert every input format to this schema at the edge; nothing downstream
knows where a flow came from. Batches of flows travel as pandas DataFrames whose
columns are exactly :data:`FLOW_COLUMNS` (plus any extra numeric feature columns,
prefixed ``x_``), so feature extraction and scoring stay vectorised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CATEGORICAL_COLUMNS",
    "EXTRA_PREFIX",
    "FLOW_COLUMNS",
    "FLOW_DTYPES",
    "NUMERIC_COLUMNS",
    "Flow",
    "empty_frame",
    "flows_to_frame",
    "normalize_frame",
    "require_canonical",
    "typed_frame",
]

#: Column -> pandas dtype of a canonical flow batch. Missing values are NaN / None.
FLOW_DTYPES: dict[str, str] = {
    "ts": "float64",  # epoch seconds
    "uid": "object",
    "orig_h": "object",
    "orig_p": "float64",
    "resp_h": "object",
    "resp_p": "float64",
    "proto": "object",  # tcp, udp, icmp
    "service": "object",  # http, ssh, ... or None
    "duration": "float64",
    "orig_bytes": "float64",
    "resp_bytes": "float64",
    "conn_state": "object",  # Zeek conn_state: SF, S0, REJ, RSTO, ...
    "orig_pkts": "float64",
    "resp_pkts": "float64",
}
FLOW_COLUMNS: tuple[str, ...] = tuple(FLOW_DTYPES)
NUMERIC_COLUMNS: tuple[str, ...] = tuple(c for c, t in FLOW_DTYPES.items() if t == "float64")
CATEGORICAL_COLUMNS: tuple[str, ...] = ("proto", "service", "conn_state")
#: Extra numeric features (e.g. NSL-KDD's 41 features) are kept as ``x_<name>`` columns.
EXTRA_PREFIX = "x_"


@dataclass(frozen=True)
class Flow:
    """One connection. Every field but the extras may be unknown (None)."""

    ts: float | None = None
    uid: str | None = None
    orig_h: str | None = None
    orig_p: int | None = None
    resp_h: str | None = None
    resp_p: int | None = None
    proto: str | None = None
    service: str | None = None
    duration: float | None = None
    orig_bytes: int | None = None
    resp_bytes: int | None = None
    conn_state: str | None = None
    orig_pkts: int | None = None
    resp_pkts: int | None = None
    extra: Mapping[str, float] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        extra = record.pop("extra")
        record.update({f"{EXTRA_PREFIX}{k}": float(v) for k, v in extra.items()})
        return record


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in FLOW_DTYPES.items()})


def normalize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a frame exactly the canonical columns and dtypes; extra ``x_`` columns become float64.

    This (with :func:`flows_to_frame` and :func:`typed_frame`, which the readers use) is the one
    place flows are normalised: whatever takes a batch after it requires a canonical one
    (:func:`require_canonical`) instead of normalising again.
    """
    out = {}
    n = len(frame)
    for column, dtype in FLOW_DTYPES.items():
        if column in frame:
            series = frame[column]
            if dtype == "float64":
                numbers = series if series.dtype == np.float64 else pd.to_numeric(series, errors="coerce")
                out[column] = numbers.astype(dtype)
            else:
                # Most batches have no NaN-like values in text columns (readers write None),
                # so the copy that swaps them for None is only made when there are some.
                missing = series.isna()
                text = series.astype("object")
                out[column] = text.where(~missing, None) if missing.any() else text
        else:
            out[column] = pd.Series(np.full(n, np.nan) if dtype == "float64" else [None] * n, dtype=dtype)
    for column in frame.columns:
        if column.startswith(EXTRA_PREFIX):
            out[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    result = pd.DataFrame(out)
    result.index = pd.RangeIndex(n)
    return result


def typed_frame(table: pd.DataFrame) -> pd.DataFrame:
    """What :func:`normalize_frame` makes of ``table``, for a table whose values are already typed.

    Its text columns must hold ``str`` or None and its numeric ones float64 (as the readers
    build them), so no value is converted or checked again, as the general normaliser's
    per-value NA pass on every text column would (docs/notes/detection.md).
    """
    n = len(table)
    columns: dict[str, pd.Series] = {}
    for column, dtype in FLOW_DTYPES.items():
        if column in table.columns:
            columns[column] = pd.Series(table[column].to_numpy(dtype=dtype), dtype=dtype, copy=False)
        elif dtype == "float64":
            columns[column] = pd.Series(np.full(n, np.nan), dtype=dtype, copy=False)
        else:
            columns[column] = pd.Series([None] * n, dtype=dtype)
    for column in table.columns:
        if column.startswith(EXTRA_PREFIX):
            columns[column] = pd.Series(table[column].to_numpy(dtype=np.float64), dtype="float64", copy=False)
    return pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)


def require_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` itself, if it has the canonical shape; otherwise a ValueError that says what is off.

    The shape is checked, not every value: the columns and their order, their dtypes and a
    0-based RangeIndex. That costs microseconds, where normalising again would cost more than
    judging a small batch (docs/notes/detection.md).
    """
    problem = _shape_problem(frame)
    if problem is not None:
        raise ValueError(f"not a canonical flow batch ({problem}); build it with flows_to_frame or normalize_frame")
    return frame


def _shape_problem(frame: pd.DataFrame) -> str | None:
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
        return "its index is not a RangeIndex from 0"
    names = list(frame.columns)
    if tuple(names[: len(FLOW_COLUMNS)]) != FLOW_COLUMNS:
        return f"its columns must start with {', '.join(FLOW_COLUMNS)}"
    extras = names[len(FLOW_COLUMNS) :]
    if not all(isinstance(name, str) and name.startswith(EXTRA_PREFIX) for name in extras):
        return f"columns after the flow columns must be {EXTRA_PREFIX} extras"
    for name, dtype in zip(names, frame.dtypes.tolist(), strict=True):
        expected = FLOW_DTYPES.get(name, "float64")
        if dtype != expected:
            return f"column {name!r} is {dtype}, not {expected}"
    return None


def flows_to_frame(flows: Iterable[Flow | Mapping[str, Any]]) -> pd.DataFrame:
    """Build a canonical batch from Flow objects or mappings with the Flow's field names."""
    records = [f.to_record() if isinstance(f, Flow) else dict(f) for f in flows]
    if not records:
        return empty_frame()
    return normalize_frame(pd.DataFrame.from_records(records))
