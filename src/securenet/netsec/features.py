"""Turn canonical flow batches into a numeric feature matrix for the anomaly models.

:class:`FeatureExtractor` learns a fixed schema on a tenant's baseline traffic (which
columns exist, which are heavy-tailed counts, the category vocabularies) and then maps
any batch onto exactly that schema, so a model trained once can score every later
batch. Everything is column-wise numpy/pandas work; no Python code runs per row.

Feature families:

* numeric flow columns (duration, bytes, packets) and extra ``x_`` columns: heavy-tailed
  counts get ``log1p``, values that stayed within [0, 1] in training (rates, flags) stay
  as they are; NaN becomes 0, with a ``missing(...)`` indicator where training data had
  gaps;
* categoricals (proto, service, conn_state, responder port): one-hot over the vocabulary
  seen at fit time, with rare and unseen values in one ``<other>`` bucket;
* sliding-window traffic features per source and destination host when the batch has
  timestamps and addresses (Zeek-style input). NSL-KDD has neither; it carries KDD's own
  window features as ``x_`` columns instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from securenet.netsec.flows import EXTRA_PREFIX

__all__ = [
    "MISSING_TOKEN",
    "OTHER_TOKEN",
    "STATE_VERSION",
    "FeatureExtractor",
    "FeatureSchemaError",
    "window_traffic_features",
]

#: Version of the :meth:`FeatureExtractor.to_state` layout; bump on any change to it.
STATE_VERSION = 1
#: Bucket for categories that were rare or absent in training.
OTHER_TOKEN = "<other>"  # noqa: S105 - a category label, not a secret
#: Category value for None/NaN, spelled like Zeek's unset field.
MISSING_TOKEN = "-"  # noqa: S105 - a category label, not a secret

# Flow columns that are magnitudes worth modelling. ts, ports and addresses are
# identifiers, not magnitudes; ports enter as a categorical and addresses only through
# the window features.
_MAGNITUDE_COLUMNS: tuple[str, ...] = ("duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts")
_CATEGORICAL_COLUMNS: tuple[str, ...] = ("proto", "service", "conn_state", "resp_p")
# Zeek conn_state values counted as SYN errors (no answer) and rejections.
_SYN_ERROR_STATES: frozenset[str] = frozenset({"S0"})
_REJECT_STATES: frozenset[str] = frozenset({"REJ"})

Transform = Literal["log1p", "identity"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class FeatureSchemaError(ValueError):
    """An extractor state that this code cannot reproduce (other version or inconsistent)."""


@dataclass(frozen=True)
class NumericSpec:
    column: str
    transform: Transform
    missing_indicator: bool

    @property
    def names(self) -> list[str]:
        value = f"log1p({self.column})" if self.transform == "log1p" else self.column
        return [value, f"missing({self.column})"] if self.missing_indicator else [value]


@dataclass(frozen=True)
class CategoricalSpec:
    column: str
    vocabulary: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [f"{self.column}={value}" for value in (*self.vocabulary, OTHER_TOKEN)]


def _signed_log1p(values: FloatArray) -> FloatArray:
    result: FloatArray = np.sign(values) * np.log1p(np.abs(values))
    return result


def _numeric(frame: pd.DataFrame, column: str) -> FloatArray:
    series = pd.to_numeric(frame[column], errors="coerce")
    # copy=True: the array may otherwise be a view of the caller's frame, edited below.
    values: FloatArray = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    # inf carries no more information than "huge" and would poison distances.
    values[~np.isfinite(values)] = np.nan
    return values


def _category_codes(frame: pd.DataFrame, column: str) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Per row, a code into an array of category tokens (one token per distinct raw value).

    Flow categoricals repeat a handful of values, so values are cleaned once per distinct
    value rather than once per row.
    """
    if column == "resp_p":
        # Ports arrive as floats (NaN-able); 80.0 and 80 must be the same category.
        ports = np.round(_numeric(frame, column))
        ports[(ports < 0) | (ports > 65535)] = np.nan
        codes, uniques = pd.factorize(ports, use_na_sentinel=True)
        cleaned = pd.Series(uniques).astype("Int64").astype("string")
    else:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        cleaned = pd.Series(uniques, dtype=object).astype("string").str.strip()
    tokens = np.empty(len(cleaned) + 1, dtype=object)
    tokens[:-1] = cleaned.fillna(MISSING_TOKEN).replace("", MISSING_TOKEN).to_numpy(dtype=object)
    tokens[-1] = MISSING_TOKEN  # code -1: a missing value
    return np.asarray(codes, dtype=np.intp), tokens


def _category_tokens(frame: pd.DataFrame, column: str) -> pd.Series:
    codes, tokens = _category_codes(frame, column)
    return pd.Series(tokens[codes], index=frame.index, dtype=object)


def _usable(frame: pd.DataFrame, column: str) -> bool:
    return column in frame.columns and bool(frame[column].notna().any())


def _window_flags(frame: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    if "conn_state" not in frame.columns:
        zeros = np.zeros(len(frame))
        return zeros, zeros
    codes, states = _text_codes(frame, "conn_state")
    syn_error = np.append(np.isin(states, list(_SYN_ERROR_STATES)), False)[codes].astype(np.float64)
    rejected = np.append(np.isin(states, list(_REJECT_STATES)), False)[codes].astype(np.float64)
    return syn_error, rejected


def _text_codes(frame: pd.DataFrame, column: str) -> tuple[IntArray, npt.NDArray[np.object_]]:
    """Codes (-1 for missing) of a text column's values as strings, and the distinct strings.

    Values are hashed once as they are (factorizing pandas' string dtype instead cost twice as
    much); the few distinct ones are then made strings, so 5 and "5" still share a code.
    """
    codes, uniques = pd.factorize(frame[column].to_numpy(dtype=object), use_na_sentinel=True)
    text = np.array([u if type(u) is str else str(u) for u in uniques], dtype=object)
    merged, names = pd.factorize(text)
    recode = np.append(merged, -1)  # code -1 (missing) stays -1
    return recode[codes].astype(np.int64), np.asarray(names, dtype=object)


def _search(
    haystack: npt.NDArray[np.int64], needles: npt.NDArray[np.int64], side: Literal["left", "right"], order: IntArray
) -> IntArray:
    """``np.searchsorted(haystack, needles, side)``, searching the needles in sorted order.

    ``order`` sorts ``needles``. Sorted needles make consecutive binary searches walk
    neighbouring memory, which on a batch of flows was about four times faster than
    searching in row order.
    """
    result: IntArray = np.empty(len(needles), dtype=np.int64)
    result[order] = np.searchsorted(haystack, needles[order], side=side)
    return result


def _sliding_counts(keys: IntArray, window: int) -> tuple[IntArray, IntArray, IntArray]:
    """For composite keys ``group * span + t``: sort order and the [left, right) rows in each window."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    left = _search(sorted_keys, keys - window, "left", order)
    # side="right" puts every flow with the same timestamp in the window, so the result
    # does not depend on the order of simultaneous flows.
    right = _search(sorted_keys, keys, "right", order)
    return order, left, right


def _distinct_in_window(
    group: IntArray,
    t: IntArray,
    value: IntArray,
    window: int,
    span: int,
    order: IntArray | None = None,
) -> IntArray:
    """Distinct ``value`` per ``group`` over the trailing window [t - window, t] of each row.

    Each occurrence keeps its (group, value) pair alive over [t, t + window]. Occurrences
    of a pair less than a window apart merge into one run, so a pair is counted at time
    t exactly when one of its runs covers t, and the distinct count is
    #(run starts <= t) - #(run ends < t) within the group: two binary searches. Keys are
    ``group * span + time`` and every run starts and ends inside its group's key range, so
    the earlier groups' starts and ends, equally many, cancel out of the difference.
    ``order``, when given, sorts ``group * span + t`` (as :func:`_sliding_counts` returns).
    """
    valid = value >= 0
    pair = group[valid] * (int(value.max(initial=0)) + 1) + value[valid]
    t_valid = t[valid]
    stretch = int(t_valid.max(initial=0)) + 1
    if int(pair.max(initial=0)) < (2**62) // stretch:
        # One integer sort on (pair, t) packed together is several times faster than lexsort.
        # Rows that tie share pair, group and time, so their order changes nothing.
        by_pair = np.argsort(pair * stretch + t_valid)
    else:
        by_pair = np.lexsort((t_valid, pair))
    pair_sorted, t_sorted, group_sorted = pair[by_pair], t_valid[by_pair], group[valid][by_pair]
    new_run = np.ones(len(by_pair), dtype=bool)
    new_run[1:] = (pair_sorted[1:] != pair_sorted[:-1]) | (np.diff(t_sorted) > window)
    last_of_run = np.ones(len(by_pair), dtype=bool)
    last_of_run[:-1] = new_run[1:]
    starts = np.sort(group_sorted[new_run] * span + t_sorted[new_run])
    ends = np.sort(group_sorted[last_of_run] * span + t_sorted[last_of_run] + window)
    query = group * span + t
    if order is None:
        order = np.argsort(query, kind="stable")
    result: IntArray = _search(starts, query, "right", order) - _search(ends, query, "left", order)
    return result


def window_traffic_features(frame: pd.DataFrame, window_seconds: float) -> dict[str, FloatArray]:
    """Trailing-window traffic counts per source (``orig_h``) and destination (``resp_h``).

    Per source: connections, S0 and REJ rates, distinct responder ports and hosts.
    Per destination: connections, S0 and REJ rates, distinct originators. The window of
    a flow is [ts - window_seconds, ts] within this batch, the flow itself included.
    Flows without a timestamp or address get 0 and are not counted for others. Returns
    {} when the batch has no usable ``ts`` or ``orig_h``, and leaves out the features
    whose inputs (``resp_h``, ``resp_p``) are missing or all NaN.
    """
    n = len(frame)
    if not (_usable(frame, "ts") and _usable(frame, "orig_h")):
        return {}
    ts = _numeric(frame, "ts")
    ts_valid = np.isfinite(ts)
    # Integer milliseconds keep the composite keys exact.
    t = np.zeros(n, dtype=np.int64)
    t[ts_valid] = np.round((ts[ts_valid] - ts[ts_valid].min()) * 1000.0).astype(np.int64)
    window = round(window_seconds * 1000.0)
    # Composite key group * span + t sorts by group, then time, and keeps every window
    # [t - window, t] inside its own group's key range.
    span = int(t.max(initial=0)) + window + 1
    syn_error, rejected = _window_flags(frame)
    codes = {
        column: _text_codes(frame, column)[0] if column in frame.columns else np.full(n, -1, dtype=np.int64)
        for column in ("orig_h", "resp_h")
    }
    ports = (
        pd.factorize(pd.Series(_numeric(frame, "resp_p")), use_na_sentinel=True)[0].astype(np.int64)
        if "resp_p" in frame.columns
        else np.full(n, -1, dtype=np.int64)
    )
    if (max(int(codes["orig_h"].max()), int(codes["resp_h"].max())) + 1) * span >= 2**62:
        raise ValueError("batch spans too much time for window features; split it into shorter batches")

    src_distinct = [(c, v) for c, v in (("resp_p", ports), ("resp_h", codes["resp_h"])) if (v >= 0).any()]
    sides = [("src", "orig_h", src_distinct)]
    if (codes["resp_h"] >= 0).any():
        sides.append(("dst", "resp_h", [("orig_h", codes["orig_h"])]))
    features: dict[str, FloatArray] = {}
    for side, host, distinct in sides:
        rows = np.flatnonzero(ts_valid & (codes[host] >= 0))
        prefix = f"{side}_{window_seconds:g}s"
        names = [f"{prefix}_conns", f"{prefix}_s0_rate", f"{prefix}_rej_rate"]
        names += [f"{prefix}_distinct_{column}" for column, _ in distinct]
        for name in names:
            features[name] = np.zeros(n)
        if len(rows) == 0:
            continue
        group, t_rows = codes[host][rows], t[rows]
        keys = group * span + t_rows
        order, left, right = _sliding_counts(keys, window)
        count = (right - left).astype(np.float64)
        features[f"{prefix}_conns"][rows] = count
        for name, flag in (("s0_rate", syn_error), ("rej_rate", rejected)):
            cumulative = np.concatenate(([0.0], np.cumsum(flag[rows][order])))
            features[f"{prefix}_{name}"][rows] = (cumulative[right] - cumulative[left]) / count
        for column, values in distinct:
            counted = _distinct_in_window(group, t_rows, values[rows], window, span, order)
            features[f"{prefix}_distinct_{column}"][rows] = counted.astype(np.float64)
    return features


class FeatureExtractor:
    """Learn a feature schema from baseline flows; map any flow batch onto it.

    ``min_category_count``/``max_categories`` bound the one-hot vocabularies: values seen
    fewer times in training, or beyond the most frequent ``max_categories``, fall into
    ``<other>`` together with values never seen at all.
    """

    def __init__(
        self,
        *,
        window_seconds: float = 60.0,
        min_category_count: int = 5,
        max_categories: int = 32,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if min_category_count < 1 or max_categories < 1:
            raise ValueError("min_category_count and max_categories must be at least 1")
        self.window_seconds = float(window_seconds)
        self.min_category_count = int(min_category_count)
        self.max_categories = int(max_categories)
        self._numeric: list[NumericSpec] = []
        self._window: list[NumericSpec] = []
        self._categorical: list[CategoricalSpec] = []
        self._fitted = False

    # -- fitting ---------------------------------------------------------------------

    def fit(self, frame: pd.DataFrame) -> Self:
        if len(frame) == 0:
            raise ValueError("cannot fit a feature extractor on an empty batch")
        # Columns without a single number in training carry nothing to learn.
        canonical = {c: _numeric(frame, c) for c in _MAGNITUDE_COLUMNS if c in frame.columns}
        canonical = {c: values for c, values in canonical.items() if not np.isnan(values).all()}
        extras = {c: _numeric(frame, c) for c in sorted(frame.columns) if c.startswith(EXTRA_PREFIX)}
        extras = {
            c: values
            for c, values in extras.items()
            if not np.isnan(values).all()
            # A reader may mirror a canonical column as an x_ column (NSL-KDD's
            # src_bytes is orig_bytes); a duplicate would count twice in distances.
            and not any(np.array_equal(values, other, equal_nan=True) for other in canonical.values())
        }
        self._numeric = [self._numeric_spec(c, values, transform="log1p") for c, values in canonical.items()]
        self._numeric += [self._numeric_spec(c, values) for c, values in extras.items()]
        self._window = [
            self._numeric_spec(
                name,
                values,
                transform="identity" if name.endswith("_rate") else "log1p",
                missing_indicator=False,
            )
            for name, values in window_traffic_features(frame, self.window_seconds).items()
        ]
        self._categorical = [
            self._categorical_spec(c, _category_tokens(frame, c)) for c in _CATEGORICAL_COLUMNS if _usable(frame, c)
        ]
        if not (self._numeric or self._window or self._categorical):
            raise ValueError("batch has no usable feature columns")
        self._fitted = True
        return self

    @staticmethod
    def _numeric_spec(
        column: str,
        values: FloatArray,
        *,
        transform: Transform | None = None,
        missing_indicator: bool | None = None,
    ) -> NumericSpec:
        present = values[np.isfinite(values)]
        if transform is None:
            # For columns of unknown meaning (x_ extras): values confined to [0, 1] are
            # rates or flags, already on a common scale; anything wider is a count or
            # size whose heavy tail log1p tames.
            bounded = present.size > 0 and present.min() >= 0.0 and present.max() <= 1.0
            transform = "identity" if bounded else "log1p"
        return NumericSpec(
            column=column,
            transform=transform,
            missing_indicator=bool(present.size < values.size) if missing_indicator is None else missing_indicator,
        )

    def _categorical_spec(self, column: str, tokens: pd.Series) -> CategoricalSpec:
        counts = tokens.value_counts()
        counts = counts[(counts >= self.min_category_count) & (counts.index != OTHER_TOKEN)]
        # value_counts sorts by count; ties by value keep the vocabulary deterministic.
        kept = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))[: self.max_categories]
        return CategoricalSpec(column, tuple(str(value) for value, _ in kept))

    # -- transforming ----------------------------------------------------------------

    @property
    def feature_names(self) -> list[str]:
        self._check_fitted()
        names: list[str] = []
        for spec in [*self._numeric, *self._window]:
            names.extend(spec.names)
        for categorical in self._categorical:
            names.extend(categorical.names)
        return names

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def one_hot_mask(self) -> npt.NDArray[np.bool_]:
        """True for the columns that are one-hot category indicators."""
        self._check_fitted()
        numeric = sum(len(spec.names) for spec in [*self._numeric, *self._window])
        mask = np.zeros(self.n_features, dtype=bool)
        mask[numeric:] = True
        return mask

    def transform(self, frame: pd.DataFrame) -> npt.NDArray[np.float32]:
        """Feature matrix (rows x :attr:`feature_names`), float32 and C-contiguous."""
        self._check_fitted()
        n = len(frame)
        columns: list[FloatArray] = []
        for spec in self._numeric:
            values = _numeric(frame, spec.column) if spec.column in frame.columns else np.full(n, np.nan)
            columns.extend(self._apply(spec, values))
        if self._window:
            # Window features need every flow of the batch at once; they are computed
            # over the whole batch, never per scoring chunk.
            window = window_traffic_features(frame, self.window_seconds)
            for spec in self._window:
                columns.extend(self._apply(spec, window.get(spec.column, np.zeros(n))))
        for categorical in self._categorical:
            columns.extend(self._encode(categorical, frame))
        matrix = np.empty((n, len(columns)), dtype=np.float32, order="C")
        for position, values in enumerate(columns):
            matrix[:, position] = values
        return matrix

    def fit_transform(self, frame: pd.DataFrame) -> npt.NDArray[np.float32]:
        return self.fit(frame).transform(frame)

    @staticmethod
    def _apply(spec: NumericSpec, values: FloatArray) -> list[FloatArray]:
        missing = np.isnan(values)
        filled = np.where(missing, 0.0, values)
        transformed = _signed_log1p(filled) if spec.transform == "log1p" else filled
        return [transformed, missing.astype(np.float64)] if spec.missing_indicator else [transformed]

    @staticmethod
    def _encode(spec: CategoricalSpec, frame: pd.DataFrame) -> list[FloatArray]:
        n = len(frame)
        other = len(spec.vocabulary)
        if spec.column in frame.columns:
            lookup = {value: index for index, value in enumerate(spec.vocabulary)}
            codes, tokens = _category_codes(frame, spec.column)
            positions = np.fromiter((lookup.get(t, other) for t in tokens), dtype=np.int64, count=len(tokens))
            index = positions[codes]
        else:
            index = np.full(n, other, dtype=np.int64)
        one_hot = np.zeros((other + 1, n))
        one_hot[index, np.arange(n)] = 1.0
        return list(one_hot)

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError("FeatureExtractor is not fitted; call fit() first")

    # -- persistence -----------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """A plain, JSON-serialisable description of the fitted schema."""
        self._check_fitted()
        return {
            "version": STATE_VERSION,
            "window_seconds": self.window_seconds,
            "min_category_count": self.min_category_count,
            "max_categories": self.max_categories,
            "numeric": [
                {"column": s.column, "transform": s.transform, "missing_indicator": s.missing_indicator}
                for s in self._numeric
            ],
            "window": [{"column": s.column, "transform": s.transform} for s in self._window],
            "categorical": [{"column": s.column, "vocabulary": list(s.vocabulary)} for s in self._categorical],
            "feature_names": self.feature_names,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FeatureExtractor:
        """Rebuild a fitted extractor; :class:`FeatureSchemaError` if the state is not ours."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            version = state.get("version") if isinstance(state, dict) else None
            raise FeatureSchemaError(f"feature state version {version!r} is not supported ({STATE_VERSION})")
        try:
            extractor = cls(
                window_seconds=float(state["window_seconds"]),
                min_category_count=int(state["min_category_count"]),
                max_categories=int(state["max_categories"]),
            )
            extractor._numeric = [
                NumericSpec(str(s["column"]), _transform(s["transform"]), bool(s["missing_indicator"]))
                for s in state["numeric"]
            ]
            extractor._window = [
                NumericSpec(str(s["column"]), _transform(s["transform"]), False) for s in state["window"]
            ]
            extractor._categorical = [
                CategoricalSpec(str(s["column"]), tuple(str(v) for v in s["vocabulary"])) for s in state["categorical"]
            ]
            expected = [str(name) for name in state["feature_names"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise FeatureSchemaError(f"malformed feature state: {exc!r}") from exc
        extractor._fitted = True
        if extractor.feature_names != expected:
            raise FeatureSchemaError("feature state does not reproduce its recorded feature names")
        return extractor


def _transform(value: object) -> Transform:
    if value == "log1p":
        return "log1p"
    if value == "identity":
        return "identity"
    raise ValueError(f"unknown transform {value!r}")
