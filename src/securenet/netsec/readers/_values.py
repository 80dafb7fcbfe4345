"""Value parsing: source columns to float64 or text arrays, with one problem code per value.

Columns are converted and checked whole, with masks, never value by value.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

_FloatArray = npt.NDArray[np.float64]
_Codes = npt.NDArray[np.int8]

#: Tokens that mean "no value" in every format: Zeek's unset and empty markers, and NaN spellings.
MISSING: Final = frozenset({"", "-", "(empty)", "nan", "NaN", "NAN"})
_PORTS: Final = frozenset({"orig_p", "resp_p"})
_NON_NEGATIVE: Final = frozenset({"duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts"})
CASE: Final[dict[str, Literal["lower", "upper"]]] = {"proto": "lower", "conn_state": "upper"}
_EPOCH: Final = pd.Timestamp(0, tz="UTC")

# Problem codes for one value; 0 means the value is fine.
OK, NOT_NUMBER, NOT_FINITE, NEGATIVE, BAD_PORT, NOT_TIME = range(6)
PROBLEMS: Final = {
    NOT_NUMBER: "not a number",
    NOT_FINITE: "not a finite number",
    NEGATIVE: "must not be negative",
    BAD_PORT: "port outside 0..65535",
    NOT_TIME: "not a timestamp (epoch seconds or ISO 8601)",
}


def parse_text(
    series: pd.Series, missing: frozenset[str], case: Literal["lower", "upper"] | None, strip: str = ""
) -> npt.NDArray[np.object_]:
    """Strings with surrounding blanks removed; missing tokens become None.

    Flow text columns (proto, service, conn_state, hosts) repeat a few values many times, so the
    cleaning runs once per distinct value and is spread back to the rows by their codes. It uses
    plain ``str`` methods: pandas' string accessor costs several times more per value, which
    shows on columns of mostly distinct values such as ``uid``.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text: Iterator[str] = map(str.strip, map(str, np.asarray(uniques, dtype=object)))
    if strip:
        text = map(operator.methodcaller("rstrip", strip), text)  # KDD'99 labels end in "." ("normal.")
    if case is not None:
        text = map(str.lower if case == "lower" else str.upper, text)
    cleaned = [None if value in missing else value for value in text]
    lookup = np.empty(len(cleaned) + 1, dtype=object)
    lookup[:-1] = cleaned
    lookup[-1] = None  # code -1 (missing) picks the trailing None
    result: npt.NDArray[np.object_] = lookup[codes]
    return result


def parse_numbers(series: pd.Series, missing: frozenset[str]) -> tuple[_FloatArray, _Codes]:
    """Float values (NaN when missing or bad) and a problem code per value."""
    codes = np.zeros(len(series), dtype=np.int8)
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    else:
        absent = (series.isna() | series.isin(missing)).to_numpy()
        numbers = pd.to_numeric(series, errors="coerce")
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        not_number = ~absent & np.isnan(values)
        # to_numeric reads True as 1; a boolean where a number belongs is a mistake, not a 1.
        if pd.api.types.is_bool_dtype(dtype):
            not_number |= ~absent
        elif pd.api.types.is_object_dtype(dtype):
            not_number |= ~absent & series.map(type).isin([bool, np.bool_]).to_numpy()
        values[not_number] = np.nan
        codes[not_number] = NOT_NUMBER
    infinite = np.isinf(values)
    codes[infinite] = NOT_FINITE
    values[infinite] = np.nan
    return values, codes


def parse_times(series: pd.Series, missing: frozenset[str]) -> tuple[_FloatArray, _Codes]:
    """Epoch seconds; ISO 8601 strings (Zeek's JSON::TS_ISO8601, CSV exports) are converted."""
    values, codes = parse_numbers(series, missing)
    rows = np.flatnonzero(codes == NOT_NUMBER)
    if rows.size:
        stamps = pd.to_datetime(series.iloc[rows].astype(str), utc=True, errors="coerce", format="ISO8601")
        seconds = ((stamps - _EPOCH) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)
        parsed = ~np.isnan(seconds)
        values[rows[parsed]] = seconds[parsed]
        codes[rows] = np.where(parsed, OK, NOT_TIME)
    return values, codes


def check_range(target: str, values: _FloatArray, codes: _Codes) -> _Codes:
    if target in _PORTS:
        outside, code = (values < 0) | (values > 65535), BAD_PORT
    elif target in _NON_NEGATIVE:
        outside, code = values < 0, NEGATIVE
    else:
        return codes
    return np.where((codes == OK) & outside, np.int8(code), codes).astype(np.int8)


def show(value: object) -> str:
    if isinstance(value, np.generic):
        value = value.item()  # show 5, not np.int64(5)
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
