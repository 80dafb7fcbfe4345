"""The grouping engine the rules share: a batch's columns as integer codes, and numpy groups over them.

:class:`FlowColumns` is built once per batch and handed to every rule, so that rules which
key on the same column (hosts, timestamps, windows, ports) derive it once; what it derives
is read-only, because it is shared. :class:`Groups` splits rows by tuples of such codes
with ``np.bincount`` and friends rather than pandas ``groupby``, whose fixed cost per call
would dominate the small batches API requests judge; Python loops run only once per
*fired* group, to write its evidence.

Rows without a usable ``ts`` (NaN or infinite) share one window of their own,
:data:`NO_WINDOW`, so a batch without timestamps is judged as a single window. Empty
strings count as missing text, as Zeek's ``-`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, Final, Self, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "NO_WINDOW",
    "BoolArray",
    "FloatArray",
    "FlowColumns",
    "Groups",
    "IntArray",
    "ObjectArray",
    "codes",
    "per_distinct",
]

_V = TypeVar("_V")
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]

#: Window key of rows without a usable timestamp. No real epoch second floors to it.
NO_WINDOW: Final = int(np.iinfo(np.int64).min)


class FlowColumns:
    """One batch's columns in the shapes rules work with, each derived on first use and then kept.

    Works on any DataFrame: a missing column reads as all missing, and a numeric column that
    is not float64 is converted (a canonical batch needs neither).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._derived: dict[tuple[Any, ...], Any] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def numeric(self, column: str) -> FloatArray:
        """A numeric column as float64 with NaN for missing; all-NaN when the column is absent."""

        def derive() -> FloatArray:
            if column not in self.frame:
                return np.full(len(self.frame), np.nan)
            series = self.frame[column]
            values: FloatArray
            if series.dtype == np.float64:  # canonical batches: skip to_numeric's fixed cost
                values = series.to_numpy(dtype=np.float64, copy=True)
            else:
                values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            return values

        return self._once(("numeric", column), derive)

    def text(self, column: str) -> ObjectArray:
        """A text column as an object array; all-None when absent."""

        def derive() -> ObjectArray:
            if column not in self.frame:
                return np.full(len(self.frame), None, dtype=object)
            values: ObjectArray = self.frame[column].to_numpy(dtype=object, copy=True)
            return values

        return self._once(("text", column), derive)

    def hosts(self, column: str) -> tuple[IntArray, ObjectArray]:
        """An address column as integer codes (-1 for missing) and the addresses they stand for.

        Rules group by addresses; codes of sorted addresses (so groups come out in the same
        order as with plain strings) let every rule reuse one factorization instead of
        hashing the strings again.
        """

        def derive() -> tuple[IntArray, ObjectArray]:
            values = self.text(column)
            try:
                codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
            except TypeError:  # values that do not sort together: let Categorical sort them out
                text = pd.Series(values, dtype=object)
                categorical = pd.Categorical(text.where(_present(text), None))
                return categorical.codes.astype(np.int64), categorical.categories.to_numpy(dtype=object)
            names = np.asarray(uniques, dtype=object)
            present = names != ""  # "" is missing too (see _present)
            if not present.all():
                recode = np.append(np.where(present, np.cumsum(present) - 1, -1), -1)  # code -1 stays -1
                codes, names = recode[codes], names[present]
            return codes.astype(np.int64, copy=False), names

        return self._once(("hosts", column), derive)

    def in_states(self, states: frozenset[str], *, unknown: bool) -> BoolArray:
        """Whether each row's conn_state is in ``states``; rows without a state get ``unknown``."""

        def derive() -> BoolArray:
            # "" is a missing state too (see _present).
            return per_distinct(
                self.text("conn_state"), lambda v: v in states or (unknown and v == ""), missing=unknown
            )

        return self._once(("in_states", states, unknown), derive)

    def window_keys(self, window_s: float) -> IntArray:
        """Each row's tumbling window, ``floor(ts / window_s)``; :data:`NO_WINDOW` without a usable ts."""

        def derive() -> IntArray:
            ts = self.numeric("ts")
            finite = np.isfinite(ts)
            keys = np.full(len(ts), NO_WINDOW, dtype=np.int64)
            keys[finite] = np.floor(ts[finite] / window_s).astype(np.int64)
            return keys

        return self._once(("window", window_s), derive)

    def window_codes(self, window_s: float) -> tuple[IntArray, int]:
        """Window keys as dense codes in ``[0, width)``, and the width."""

        def derive() -> tuple[IntArray, int]:
            dense = codes(self.window_keys(window_s))
            return dense, int(dense.max(initial=-1)) + 1

        return self._once(("window codes", window_s), derive)

    def port_codes(self) -> tuple[IntArray, int]:
        """Responder ports as dense codes (-1 for unknown) and the number of distinct ports."""

        def derive() -> tuple[IntArray, int]:
            dense = codes(self.numeric("resp_p"))
            return dense, int(dense.max(initial=-1)) + 1

        return self._once(("port codes",), derive)

    def _once(self, key: tuple[Any, ...], derive: Callable[[], _V]) -> _V:
        if key not in self._derived:
            value = derive()
            for array in value if isinstance(value, tuple) else (value,):
                if isinstance(array, np.ndarray):
                    array.flags.writeable = False  # shared between rules: nobody may edit it
            self._derived[key] = value
        result: _V = self._derived[key]
        return result


def per_distinct(values: ObjectArray, test: Callable[[Any], bool], *, missing: bool = False) -> BoolArray:
    """``test`` run once per distinct present value, spread back to the rows.

    Flow text columns repeat a few values, so this spares a string operation per row (and,
    in plain Python over the distinct values, the fixed cost of pandas string methods).
    Missing values (None, NaN, NA) get ``missing``.
    """
    found, uniques = pd.factorize(values, use_na_sentinel=True)
    # Code -1 (missing) picks the trailing answer.
    answers = np.array([bool(test(value)) for value in uniques] + [missing], dtype=bool)
    result: BoolArray = answers[found]
    return result


def codes(values: npt.NDArray[Any]) -> IntArray:
    """Dense integer codes of ``values`` in order of first appearance; NaN gets -1."""
    found, _ = pd.factorize(values, use_na_sentinel=True)
    result: IntArray = found.astype(np.int64, copy=False)
    return result


def _present(values: pd.Series) -> BoolArray:
    # Empty strings count as missing: some exports write "" where Zeek writes "-".
    present: BoolArray = (values.notna() & (values != "")).to_numpy(dtype=bool)
    return present


class Groups:
    """Rows split into groups by integer key columns, with numpy instead of pandas groupby.

    ``ids[i]`` is row ``i``'s group, numbered in order of first appearance. Counting is
    ``np.bincount`` over ``ids``, so a small batch costs microseconds rather than the
    milliseconds of a groupby, and a large one stays linear.
    """

    def __init__(self, ids: IntArray, count: int) -> None:
        self.ids = ids
        self.count = count

    @classmethod
    def of(cls, *keys: tuple[IntArray, int]) -> Self:
        """Group rows by the tuple of their keys, each given as codes in ``[0, width)`` per row.

        The codes are packed into one int64 per row (mixed radix) and factorized once.
        """
        combined, span = np.zeros(len(keys[0][0]), dtype=np.int64), 1
        for key, width in keys:
            if span * max(width, 1) >= 2**62:  # would overflow: renumber densely first
                combined = codes(combined)
                span = int(combined.max(initial=-1)) + 1
            combined, span = combined * width + key, span * max(width, 1)
        ids = codes(combined)
        return cls(ids, int(ids.max(initial=-1)) + 1)

    @cached_property
    def sizes(self) -> FloatArray:
        """Rows per group, as floats to compare with fractional thresholds."""
        sizes: FloatArray = np.bincount(self.ids, minlength=self.count).astype(np.float64)
        return sizes

    @cached_property
    def first(self) -> IntArray:
        """Each group's first row (groups are numbered in order of first appearance)."""
        # A new group's id is one above every id before it: its first row sets a new maximum.
        running = np.maximum.accumulate(self.ids) if len(self.ids) else self.ids
        opens: IntArray = np.flatnonzero(np.diff(running, prepend=-1) > 0).astype(np.int64, copy=False)
        return opens

    def sums(self, values: npt.NDArray[Any]) -> FloatArray:
        """Per-group sums of ``values`` (booleans or floats without NaN).

        ``np.bincount`` adds in row order, pandas' groupby with Kahan compensation; they agree
        exactly when every value and partial sum is an integer below 2**53, as with counts
        and byte counts. Anything else goes through pandas so that verdicts never change.
        """
        weights = np.asarray(values, dtype=np.float64)
        exact = bool(np.all(weights == np.round(weights))) and float(np.abs(weights).sum()) < 2.0**53
        if exact:
            return np.bincount(self.ids, weights=weights, minlength=self.count).astype(np.float64, copy=False)
        by_group: FloatArray = pd.Series(weights).groupby(self.ids, sort=True).sum().to_numpy(dtype=np.float64)
        return by_group

    def distinct(self, values: IntArray) -> IntArray:
        """Per-group number of distinct ``values`` (dense codes; -1 is not counted)."""
        counted = values >= 0
        width = int(values.max(initial=-1)) + 1
        pairs = pd.unique(self.ids[counted] * width + values[counted])
        distinct: IntArray = np.bincount(pairs // max(width, 1), minlength=self.count).astype(np.int64)
        return distinct

    def sorted_by(self, keys: tuple[npt.NDArray[Any], ...], selected: BoolArray) -> list[int]:
        """The ``selected`` groups, ordered by their key values as a sorted groupby would."""
        groups = np.flatnonzero(selected)
        first = self.first[groups]
        order = np.lexsort(tuple(key[first] for key in reversed(keys)))
        ordered: list[int] = groups[order].tolist()
        return ordered

    @cached_property
    def _by_group(self) -> tuple[IntArray, IntArray]:
        """Row positions sorted by group (stable, so rows stay in order) and group offsets."""
        order = np.argsort(self.ids, kind="stable")
        offsets = np.zeros(self.count + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.ids, minlength=self.count), out=offsets[1:])
        return order.astype(np.int64, copy=False), offsets

    def members(self, group: int) -> IntArray:
        """Positions (into the grouped rows) of one group's rows, ascending."""
        order, offsets = self._by_group
        return order[offsets[group] : offsets[group + 1]]
