"""Raw chunks: lines split into a DataFrame of source columns, and the records rejected on the way."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import operator
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

from securenet.netsec.readers._errors import RecordError
from securenet.netsec.readers._lines import Batch
from securenet.netsec.readers._plans import ColumnPlan, Role

_IntArray = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class Rejects:
    """Records rejected in one chunk, described lazily: usually only a few are ever shown."""

    lines: _IntArray  # ascending physical line numbers
    describe: Callable[[int], tuple[str | None, str]]  # i -> (field, message)


@dataclasses.dataclass(frozen=True)
class RawChunk:
    raw: pd.DataFrame  # source columns as read, RangeIndex
    lines: _IntArray  # physical line of each raw row
    rejects: list[Rejects]  # records that never made it into raw
    plan: ColumnPlan
    missing: frozenset[str]


def unique(names: list[str]) -> list[str]:
    """Suffix repeated header names (some CSV exports repeat a column) so none is lost."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}.{seen[name] - 1}")
    return out


def field_counts(lines: list[str], separator: str) -> _IntArray:
    """Field counts (separators + 1) of unquoted lines."""
    counts = np.fromiter(map(operator.methodcaller("count", separator), lines), dtype=np.int64, count=len(lines))
    return counts + 1


def message_rejects(linenos: list[int], messages: list[str]) -> Rejects:
    def describe(i: int) -> tuple[str | None, str]:
        return None, messages[i]

    return Rejects(np.array(linenos, dtype=np.int64), describe)


def count_rejects(linenos: _IntArray, counts: _IntArray, expected: str) -> Rejects:
    def describe(i: int) -> tuple[str | None, str]:
        if counts[i] < 0:
            return None, "unbalanced quotes"
        return None, f"wrong number of fields: expected {expected}, got {counts[i]}"

    return Rejects(linenos, describe)


def split_delimited(
    batch: Batch,
    names: list[str],
    separator: str,
    plan: ColumnPlan,
    missing: frozenset[str],
    path: str,
    quotechar: str | None = None,
) -> RawChunk:
    """Check each line's field count, then let pandas' C parser read the well-formed ones."""
    linenos, lines = batch
    text = "\n".join(lines)
    if quotechar is not None and quotechar in text:
        return split_quoted(batch, names, separator, quotechar, plan, missing)
    counts = field_counts(lines, separator)
    good = counts == len(names)
    rejects = [count_rejects(linenos[~good], counts[~good], str(len(names)))]
    n_good = int(good.sum())
    if n_good < len(lines):
        text = "\n".join(itertools.compress(lines, good.tolist()))
    roles = [plan.resolve(name).role for name in names]
    usecols = [i for i, role in enumerate(roles) if role is not Role.IGNORE]
    if not n_good or not usecols:
        raw = pd.DataFrame(index=pd.RangeIndex(n_good))
    else:
        raw = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            header=None,
            names=list(range(len(names))),
            usecols=usecols,
            # Text stays text, as object arrays (factorizing pandas' str dtype cost 1.5x more);
            # numeric columns are left to the parser's own (fast) inference and fall back to
            # pd.to_numeric only when a chunk holds something else.
            dtype={i: object for i, role in enumerate(roles) if role in (Role.TEXT, Role.LABEL)},
            keep_default_na=False,
            na_values=sorted(missing),
            quoting=csv.QUOTE_NONE,  # quoted input took the other path, so quotes are literal
            index_col=False,
            skip_blank_lines=False,
            low_memory=False,  # one pass per column: no mixed-type chunks, no DtypeWarning
            engine="c",
        )
        raw.columns = [names[i] for i in raw.columns]
        if len(raw) != n_good:  # the field counts above make this impossible
            raise RuntimeError(f"{path}: parsed {len(raw)} rows from {n_good} lines")
    return RawChunk(raw, linenos[good], rejects, plan, missing)


def split_quoted(
    batch: Batch,
    names: list[str],
    separator: str,
    quotechar: str,
    plan: ColumnPlan,
    missing: frozenset[str],
) -> RawChunk:
    """Slower path for chunks with quoted fields: the csv module splits, pandas still converts."""
    linenos, lines = batch
    rows: list[list[str]] = []
    counts = np.empty(len(lines), dtype=np.int64)
    for i, text in enumerate(lines):
        try:
            row = next(csv.reader([text], delimiter=separator, quotechar=quotechar, strict=True))
        except csv.Error:
            counts[i] = -1
            continue
        counts[i] = len(row)
        if len(row) == len(names):
            rows.append(row)
    good = counts == len(names)
    rejects = [count_rejects(linenos[~good], counts[~good], str(len(names)))]
    used = [name for name in names if plan.resolve(name).role is not Role.IGNORE]
    raw = pd.DataFrame(rows, columns=names, dtype=object)[used]
    return RawChunk(raw, linenos[good], rejects, plan, missing)


def first_errors(groups: list[Rejects], limit: int, path: str) -> list[RecordError]:
    """The first ``limit`` rejected records of a chunk, in line order, as RecordErrors."""
    if limit <= 0:
        return []
    lines = np.concatenate([group.lines for group in groups])
    owners = np.concatenate([np.full(len(group.lines), i) for i, group in enumerate(groups)])
    offsets = np.concatenate([np.arange(len(group.lines)) for group in groups])
    errors = []
    for j in np.argsort(lines, kind="stable")[:limit]:
        field, message = groups[int(owners[j])].describe(int(offsets[j]))
        errors.append(RecordError(path, int(lines[j]), field, message))
    return errors
