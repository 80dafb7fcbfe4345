"""Conversion: a raw chunk's source columns to the canonical frame, and its bad records to rejects."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from securenet.netsec.flows import typed_frame
from securenet.netsec.readers._plans import Role
from securenet.netsec.readers._raw import RawChunk, Rejects
from securenet.netsec.readers._values import (
    CASE,
    NOT_NUMBER,
    OK,
    PROBLEMS,
    check_range,
    parse_numbers,
    parse_text,
    parse_times,
    show,
)

_IntArray = npt.NDArray[np.int64]
_Codes = npt.NDArray[np.int8]


def to_flows(chunk: RawChunk) -> tuple[pd.DataFrame, pd.Series | None, _IntArray, list[Rejects]]:
    """The canonical frame, its labels, the physical line of each of its rows, and the rejects."""
    raw = chunk.raw
    n = len(raw)
    out: dict[str, pd.Series] = {}
    labels: pd.Series | None = None
    checked: list[tuple[str, _Codes]] = []  # (source field, problem code per row), in file order
    for name in raw.columns:
        column = chunk.plan.resolve(name)
        series = raw[name]
        if column.role is Role.IGNORE:
            continue
        if column.role is Role.LABEL:
            labels = pd.Series(parse_text(series, chunk.missing, None, strip="."), dtype=object)
            continue
        if column.role is Role.TEXT:
            target = column.targets[0]
            _merge(out, target, pd.Series(parse_text(series, chunk.missing, CASE.get(target)), dtype=object))
            continue
        parse = parse_times if column.role is Role.TIME else parse_numbers
        values, codes = parse(series, chunk.missing)
        if column.role is Role.UNDECIDED:
            if np.isnan(values).all() and not codes.any():
                continue  # no values yet: decide when there are some
            column = chunk.plan.decide(name, numeric=not (codes == NOT_NUMBER).any())
            if column.role is Role.IGNORE:
                continue
        for target in column.targets:
            codes = check_range(target, values, codes)
            _merge(out, target, pd.Series(values))
        checked.append((name, codes))

    problems = np.column_stack([codes for _, codes in checked]) if checked else np.zeros((n, 1), np.int8)
    bad = (problems != OK).any(axis=1)
    bad_rows = np.flatnonzero(bad)
    first_bad = (problems[bad_rows] != OK).argmax(axis=1)  # the first problem in file order

    def describe(i: int) -> tuple[str | None, str]:
        row, k = int(bad_rows[i]), int(first_bad[i])
        name = checked[k][0]
        return name, f"{PROBLEMS[int(problems[row, k])]}: {show(raw[name].iloc[row])}"

    keep = ~bad
    table = pd.DataFrame(out, index=pd.RangeIndex(n))
    if bad_rows.size:  # filtering copies every column: only pay for it when something is dropped
        table = table[keep].reset_index(drop=True)
        if labels is not None:
            labels = labels[keep].reset_index(drop=True)
    return typed_frame(table), labels, chunk.lines[keep], [*chunk.rejects, Rejects(chunk.lines[bad_rows], describe)]


def _merge(out: dict[str, pd.Series], target: str, values: pd.Series) -> None:
    """Fill ``target``; when two sources feed it (orig_h and id.orig_h), the first present wins."""
    current = out.get(target)
    out[target] = values if current is None else current.where(current.notna(), values)
