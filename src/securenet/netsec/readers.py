"""Streaming readers that turn flow logs into canonical flow batches.

Every supported format is converted to the :mod:`securenet.netsec.flows` schema here, at the
edge, so nothing downstream knows where a flow came from.

How a file is read:

* The file is read a megabyte of text at a time, split into lines in one C call, and cut into
  chunks of at most ``chunk_size`` candidate records, so memory stays flat however large the
  file grows and no Python code runs per line on the way. Gzip input is recognised by its
  magic bytes, not by its name.
* Each chunk is parsed by pandas (``read_csv`` for delimited text, ``from_records`` for JSON)
  and converted and validated column by column with masks, never value by value.
* Every rejected record becomes a :class:`RecordError` naming the file, the 1-based physical
  line and the field. ``on_error="skip"`` drops the record, counts it and logs the first few;
  ``on_error="fail"`` raises :class:`MalformedInputError` at the first one. A gzip stream cut
  off early is such an error too, at the line where it ends: the lines before it are read as
  usual, and the cut line is not a record. Problems with the file itself (a Zeek log without
  ``#fields``, a CSV header that lacks a mapped column, corrupt gzip data) always raise,
  because no record of such a file can be trusted.
* Labels (a ``label`` column in any format, the last NSL-KDD field) come out beside the
  frame, never as features.

A record is one physical line in every format: flow logs never need embedded newlines, and
this keeps line numbers exact and chunks independent.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import gzip
import io
import itertools
import json
import logging
import operator
import os
import re
import sys
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, Literal, TextIO, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from securenet.netsec.flows import CANONICAL_MARK, EXTRA_PREFIX, FLOW_DTYPES, empty_frame, normalize_frame

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "FORMATS",
    "MAX_RECORDED_ERRORS",
    "NSL_KDD_FEATURES",
    "FlowChunk",
    "Format",
    "MalformedInputError",
    "ReadStats",
    "RecordError",
    "read_all",
    "read_flows",
]

logger = logging.getLogger(__name__)

Format = Literal["zeek", "csv", "ndjson", "nsl-kdd"]
FORMATS: tuple[str, ...] = get_args(Format)
OnError = Literal["skip", "fail"]

#: ReadStats keeps this many RecordErrors; later ones are only counted.
MAX_RECORDED_ERRORS: Final = 100
#: Each stream logs this many skipped records one by one, then one summary at the end.
_WARN_FIRST: Final = 5

#: The 41 NSL-KDD / KDD'99 features, in file order (see shared/datasets/README.md).
NSL_KDD_FEATURES: tuple[str, ...] = (
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
)
_NSL_KDD_CANONICAL: Final = {
    "protocol_type": "proto",
    "service": "service",
    "flag": "conn_state",
    "duration": "duration",
    "src_bytes": "orig_bytes",
    "dst_bytes": "resp_bytes",
}
#: 41 features, + label (KDD'99), + difficulty (NSL-KDD).
_NSL_KDD_WIDTHS: Final = (41, 42, 43)

#: Source names understood without a column_map: canonical names and Zeek's dotted ones.
_ALIASES: Final[dict[str, str]] = {name: name for name in FLOW_DTYPES} | {
    "id.orig_h": "orig_h",
    "id.orig_p": "orig_p",
    "id.resp_h": "resp_h",
    "id.resp_p": "resp_p",
}
_LABEL = "label"
#: Zeek types whose values are numbers; other types (string, addr, bool, set[...]) are not.
_ZEEK_NUMERIC_TYPES: Final = frozenset({"time", "interval", "count", "int", "double", "port"})
#: Tokens that mean "no value" in every format: Zeek's unset and empty markers, and NaN spellings.
_MISSING: Final = frozenset({"", "-", "(empty)", "nan", "NaN", "NAN"})
_PORTS: Final = frozenset({"orig_p", "resp_p"})
_NON_NEGATIVE: Final = frozenset({"duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts"})
_CASE: Final[dict[str, Literal["lower", "upper"]]] = {"proto": "lower", "conn_state": "upper"}
_GZIP_MAGIC: Final = b"\x1f\x8b"
#: IoT-23's conn.log.labeled joins its last fields (tunnel_parents, label, detailed-label) with
#: three spaces instead of the separator, in #fields, #types and every record.
_IOT23_JOIN: Final = "   "
_EPOCH: Final = pd.Timestamp(0, tz="UTC")

# Problem codes for one value; 0 means the value is fine.
_OK, _NOT_NUMBER, _NOT_FINITE, _NEGATIVE, _BAD_PORT, _NOT_TIME = range(6)
_PROBLEMS: Final = {
    _NOT_NUMBER: "not a number",
    _NOT_FINITE: "not a finite number",
    _NEGATIVE: "must not be negative",
    _BAD_PORT: "port outside 0..65535",
    _NOT_TIME: "not a timestamp (epoch seconds or ISO 8601)",
}

_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]
_Codes = npt.NDArray[np.int8]
#: Consecutive physical lines: their 1-based line numbers and their text without newlines.
_Batch = tuple["npt.NDArray[np.int64]", list[str]]
_Blocks = Iterator[_Batch]
#: Characters of text read (and split into lines) at a time.
_READ_CHARS: Final = 1 << 20


@dataclasses.dataclass(frozen=True)
class RecordError:
    """One malformed record: where it is and what is wrong with it."""

    path: str
    line: int  # 1-based physical line in the (decompressed) file
    field: str | None  # the field as named in the file, or None for the whole record
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.field is None:
            return f"{where}: {self.message}"
        return f"{where}: field {self.field!r}: {self.message}"


class MalformedInputError(ValueError):
    """A record (with ``on_error="fail"``) or the file itself cannot be read."""

    def __init__(self, error: RecordError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclasses.dataclass
class ReadStats:
    """Running totals of one or more reads; pass the same object to accumulate."""

    rows: int = 0
    skipped: int = 0
    errors: list[RecordError] = dataclasses.field(default_factory=list)  # the first 100 only


# eq=False: comparing DataFrames with == is elementwise, so a generated __eq__ would be wrong.
@dataclasses.dataclass(frozen=True, eq=False)
class FlowChunk:
    """A canonical batch of flows and where it sits in the stream."""

    frame: pd.DataFrame  # canonical columns (normalize_frame), RangeIndex
    labels: pd.Series | None  # string labels aligned with frame, when the input has them
    first_index: int  # 0-based index of frame's first row among all records kept so far
    #: 0-based position of each row among all records of the input, skipped ones included
    #: (None when no record was ever skipped: then it is ``first_index + row``).
    record_index: npt.NDArray[np.int64] | None = None
    #: The records skipped in this chunk (``on_error="skip"``): (record index, error), in order.
    skipped: tuple[tuple[int, RecordError], ...] = ()

    def record_positions(self) -> npt.NDArray[np.int64]:
        """Each row's 0-based position among all input records."""
        if self.record_index is not None:
            return self.record_index
        return np.arange(self.first_index, self.first_index + len(self.frame), dtype=np.int64)


def read_flows(
    path: str | Path,
    fmt: Format,
    *,
    chunk_size: int = 65536,
    on_error: OnError = "skip",
    column_map: Mapping[str, str] | None = None,
    stats: ReadStats | None = None,
) -> Generator[FlowChunk, None, None]:
    """Stream canonical flow chunks from ``path`` (``"-"`` reads stdin).

    ``column_map`` maps canonical names (or ``x_`` extras, or ``label``) to source column names;
    it applies to ``csv`` and ``ndjson``. Arguments and the file's existence are checked now;
    the file is opened when iteration starts and closed when it ends or the generator is closed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, not {chunk_size!r}")
    if on_error not in ("skip", "fail"):
        raise ValueError(f"on_error must be 'skip' or 'fail', not {on_error!r}")
    if column_map is not None:
        if fmt not in ("csv", "ndjson"):
            raise ValueError(f"column_map applies to 'csv' and 'ndjson', not {fmt!r}")
        _check_column_map(column_map)
    name = os.fspath(path)
    if name != "-":
        os.stat(name)  # raise FileNotFoundError now, not at the first next()
    return _read(name, fmt, chunk_size, on_error, column_map, stats if stats is not None else ReadStats())


def read_all(
    path: str | Path,
    fmt: Format,
    *,
    chunk_size: int = 65536,
    on_error: OnError = "skip",
    column_map: Mapping[str, str] | None = None,
    stats: ReadStats | None = None,
) -> FlowChunk:
    """Read a whole file into one chunk (for tests and small files; it is not streaming)."""
    chunks = list(read_flows(path, fmt, chunk_size=chunk_size, on_error=on_error, column_map=column_map, stats=stats))
    if not chunks:
        return FlowChunk(empty_frame(), None, 0)
    # Extras can first appear in a later chunk (a new JSON key); give every chunk every column
    # with one dtype, so concat neither warns nor guesses.
    columns = list(dict.fromkeys(c for chunk in chunks for c in chunk.frame.columns))
    frame = normalize_frame(pd.concat([chunk.frame.reindex(columns=columns) for chunk in chunks], ignore_index=True))
    labels: pd.Series | None = None
    if any(chunk.labels is not None for chunk in chunks):
        parts = [
            chunk.labels if chunk.labels is not None else pd.Series([None] * len(chunk.frame), dtype=object)
            for chunk in chunks
        ]
        labels = pd.concat(parts, ignore_index=True).astype(object)
    return FlowChunk(frame, labels, 0)


# --------------------------------------------------------------------------------------------
# The stream: open, cut into raw chunks, convert, account for rejects.


def _read(
    path: str,
    fmt: Format,
    chunk_size: int,
    on_error: OnError,
    column_map: Mapping[str, str] | None,
    stats: ReadStats,
) -> Generator[FlowChunk, None, None]:
    shown = "<stdin>" if path == "-" else path
    kept = skipped = warned = 0
    with _open_text(path) as (text, source):
        blocks = _line_blocks(text, shown, source)
        for chunk in _raw_chunks(fmt, blocks, shown, chunk_size, column_map):
            frame, labels, kept_lines, rejects = _to_flows(chunk)
            rejected = sum(len(group.lines) for group in rejects)
            record_index = None
            skipped_here: tuple[tuple[int, RecordError], ...] = ()
            if rejected:
                if on_error == "fail":
                    raise MalformedInputError(_first_errors(rejects, 1, shown)[0])
                errors = _first_errors(rejects, rejected, shown)  # all of them: each gets its own output
                room = max(0, MAX_RECORDED_ERRORS - len(stats.errors))
                to_warn = max(0, _WARN_FIRST - warned)
                stats.errors.extend(errors[:room])
                for error in errors[:to_warn]:
                    logger.warning("skipping malformed record: %s", error)
                warned += min(to_warn, len(errors))
                # Records are lines, so a record's position is its line's rank in the chunk.
                first = kept + skipped
                error_lines = np.array([e.line for e in errors], dtype=np.int64)
                records = np.sort(np.concatenate([kept_lines, error_lines]))
                record_index = first + np.searchsorted(records, kept_lines)
                ranks = first + np.searchsorted(records, error_lines)
                skipped_here = tuple(zip(ranks.tolist(), errors, strict=True))
                stats.skipped += rejected
                skipped += rejected
            elif skipped:
                record_index = np.arange(kept + skipped, kept + skipped + len(frame), dtype=np.int64)
            if len(frame) or skipped_here:
                stats.rows += len(frame)
                yield FlowChunk(frame, labels, kept, record_index, skipped_here)
                kept += len(frame)
        cut = source.truncation
        if cut is not None:
            # Where the stream was cut: one more malformed record, after every record before it.
            if on_error == "fail":
                raise MalformedInputError(cut)
            if len(stats.errors) < MAX_RECORDED_ERRORS:
                stats.errors.append(cut)
            if warned < _WARN_FIRST:
                logger.warning("skipping malformed record: %s", cut)
                warned += 1
            position = kept + skipped
            stats.skipped += 1
            skipped += 1
            yield FlowChunk(empty_frame(), None, kept, np.zeros(0, dtype=np.int64), ((position, cut),))
    if skipped > warned:
        logger.warning("%s: skipped %d malformed records in all (%d logged above)", shown, skipped, warned)


class _GzipStream(io.RawIOBase):
    """Decompressed bytes of a gzip stream that end, instead of raising, where the stream is cut off.

    GzipFile raises at a cut-off only once every byte before it has been returned, but the
    buffered and text layers above would drop what they had gathered in that call; ending the
    stream here keeps every complete line. The cut-off is noted in ``truncated``.
    """

    def __init__(self, fileobj: IO[bytes]) -> None:
        super().__init__()
        self._gzip = gzip.GzipFile(fileobj=fileobj, mode="rb")
        self.truncated: EOFError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        if self.truncated is not None:
            return 0
        with memoryview(buffer) as view, view.cast("B") as target:
            try:
                data = self._gzip.read1(len(target))
            except EOFError as exc:
                self.truncated = exc
                return 0
            target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._gzip.close()  # leaves fileobj open: its owner closes it
        super().close()


@dataclasses.dataclass
class _Source:
    """The bytes under the text: a gzip stream, if they are one, and where it was cut off, once read."""

    gzip: _GzipStream | None = None
    truncation: RecordError | None = None


@contextmanager
def _open_text(path: str) -> Iterator[tuple[TextIO, _Source]]:
    """Open ``path`` (or stdin for ``-``) as UTF-8 text, decompressing gzip by its magic bytes."""
    binary: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    owned = path != "-"
    try:
        # Only a buffered reader can peek without consuming; anything else is read as plain text.
        magic = binary.peek(2)[:2] if isinstance(binary, io.BufferedReader) else b""
        gzipped = _GzipStream(binary) if magic == _GZIP_MAGIC else None
        source: IO[bytes] = binary if gzipped is None else io.BufferedReader(gzipped)
        # utf-8-sig drops a BOM; "replace" turns stray bytes into U+FFFD, which then fails
        # validation in the field it lands in instead of aborting the whole file.
        text = io.TextIOWrapper(source, encoding="utf-8-sig", errors="replace", newline=None)
        try:
            yield text, _Source(gzipped)
        finally:
            if owned:
                text.close()
            else:
                inner = text.detach()  # leave stdin itself open for the caller
                if inner is not binary:
                    inner.close()
    finally:
        if owned:
            binary.close()


def _line_blocks(text: TextIO, path: str, source: _Source) -> _Blocks:
    """Yield the file's lines in blocks, without newlines, with their 1-based line numbers.

    A gzip stream cut off early ends the lines at the last complete one: the cut line is noted
    in ``source.truncation``, not yielded, as a fragment of a record is not a record.
    """
    lineno = 0
    tail = ""
    while True:
        try:
            piece = text.read(_READ_CHARS)
        except (gzip.BadGzipFile, zlib.error) as exc:
            # Corrupt gzip data is a file problem, not a record problem: nothing read can be trusted.
            raise MalformedInputError(RecordError(path, lineno + 1, None, f"unreadable gzip data: {exc}")) from exc
        if not piece:
            break
        lines = (tail + piece).split("\n")
        tail = lines.pop()  # the start of a line that continues in the next piece
        if lines:
            yield np.arange(lineno + 1, lineno + 1 + len(lines), dtype=np.int64), lines
            lineno += len(lines)
    cut = source.gzip.truncated if source.gzip is not None else None
    if cut is not None:
        source.truncation = RecordError(path, lineno + 1, None, f"truncated gzip data: {cut}")
    elif tail:
        yield np.array([lineno + 1], dtype=np.int64), [tail]


def _blank(lines: list[str]) -> npt.NDArray[np.bool_]:
    """Which lines are empty or whitespace only."""
    blank = np.fromiter(map(str.isspace, lines), dtype=bool, count=len(lines))
    if "" in lines:
        blank |= np.fromiter(map(operator.not_, lines), dtype=bool, count=len(lines))
    return blank


def _select(batch: _Batch, keep: npt.NDArray[np.bool_]) -> _Batch:
    linenos, lines = batch
    if keep.all():
        return batch
    return linenos[keep], list(itertools.compress(lines, keep.tolist()))


def _records(blocks: _Blocks) -> _Blocks:
    """Drop blank lines: they separate nothing and are not records."""
    for linenos, lines in blocks:
        kept = _select((linenos, lines), ~_blank(lines))
        if kept[1]:
            yield kept


class _Batcher:
    """Regroups runs of lines into batches of exactly ``size`` lines (the last one may be short)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.linenos = np.zeros(0, dtype=np.int64)
        self.lines: list[str] = []

    def add(self, batch: _Batch) -> Iterator[_Batch]:
        self.linenos = np.concatenate([self.linenos, batch[0]])
        self.lines = self.lines + batch[1]
        start = 0
        while len(self.lines) - start >= self.size:
            yield self.linenos[start : start + self.size], self.lines[start : start + self.size]
            start += self.size
        self.linenos, self.lines = self.linenos[start:], self.lines[start:]

    def rest(self) -> Iterator[_Batch]:
        if self.lines:
            yield self.linenos, self.lines
        self.linenos, self.lines = self.linenos[:0], []


def _batched(blocks: _Blocks, size: int) -> _Blocks:
    batcher = _Batcher(size)
    for block in blocks:
        yield from batcher.add(block)
    yield from batcher.rest()


# --------------------------------------------------------------------------------------------
# Column plans: which source column feeds which canonical column.


class _Role(Enum):
    TEXT = "text"  # a canonical string column
    NUMBER = "number"  # canonical numeric column(s) and/or an x_ extra
    TIME = "time"  # ts: epoch seconds or an ISO 8601 string
    LABEL = "label"
    UNDECIDED = "undecided"  # unknown column: an x_ extra if its values are numbers, else ignored
    IGNORE = "ignore"


@dataclasses.dataclass(frozen=True)
class _Column:
    role: _Role
    targets: tuple[str, ...] = ()  # output columns this source feeds


class _ColumnPlan:
    """How each source column maps to the canonical frame; grows as new JSON keys appear.

    An unknown column becomes an ``x_`` extra if the first chunk in which it holds any value
    holds only numbers there; otherwise it is ignored (logged once). Once it is an extra,
    a non-number in it is a malformed record, so the decision never silently loses data.
    """

    def __init__(self, source: str, column_map: Mapping[str, str] | None = None) -> None:
        self.source = source
        self.columns: dict[str, _Column] = {}
        column_map = column_map or {}
        self._explicit = {name.strip(): target for target, name in column_map.items()}
        self._claimed = frozenset(column_map)
        self._extras: set[str] = set()

    def resolve(self, name: str) -> _Column:
        column = self.columns.get(name)
        if column is None:
            column = self.columns[name] = self._classify(name)
        return column

    def decide(self, name: str, numeric: bool) -> _Column:
        column = self.columns[name]
        if numeric:
            column = _Column(_Role.NUMBER, column.targets)
        else:
            logger.info("%s: ignoring column %r: its values are not numbers", self.source, name)
            column = _Column(_Role.IGNORE)
        self.columns[name] = column
        return column

    def extra_column(self, name: str) -> str:
        """A fresh ``x_`` column name for source column ``name``."""
        base = EXTRA_PREFIX + (_snake(name.removeprefix(EXTRA_PREFIX)) or "column")
        candidate, n = base, 1
        while candidate in self._extras:
            n += 1
            candidate = f"{base}_{n}"
        self._extras.add(candidate)
        return candidate

    def _classify(self, name: str) -> _Column:
        key = name.strip()
        target = self._explicit.get(key)
        if target is None:
            alias = _ALIASES.get(key, _LABEL if key.lower() == _LABEL else None)
            if alias is not None and alias in self._claimed:
                logger.info("%s: ignoring column %r: column_map takes %r from elsewhere", self.source, name, alias)
                return _Column(_Role.IGNORE)
            target = alias
        if target is not None:
            return _canonical_column(target, self)
        if key.startswith(EXTRA_PREFIX):  # named as an extra, so it is meant to be numeric
            return _Column(_Role.NUMBER, (self.extra_column(key),))
        return _Column(_Role.UNDECIDED, (self.extra_column(key),))


def _canonical_column(target: str, plan: _ColumnPlan) -> _Column:
    if target == _LABEL:
        return _Column(_Role.LABEL)
    if target.startswith(EXTRA_PREFIX):
        return _Column(_Role.NUMBER, (plan.extra_column(target),))
    if target == "ts":
        return _Column(_Role.TIME, (target,))
    return _Column(_Role.TEXT if FLOW_DTYPES[target] == "object" else _Role.NUMBER, (target,))


def _snake(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()


def _check_column_map(column_map: Mapping[str, str]) -> None:
    for target, name in column_map.items():
        if target not in FLOW_DTYPES and target != _LABEL and not target.startswith(EXTRA_PREFIX):
            raise ValueError(f"column_map key {target!r} is not a flow column, an x_ extra or 'label'")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"column_map[{target!r}] must be a column name, not {name!r}")
    names = [name.strip() for name in column_map.values()]
    if len(set(names)) != len(names):
        raise ValueError("column_map maps two flow columns to the same source column")


def _zeek_plan(path: str, fields: list[str], types: list[str] | None) -> _ColumnPlan:
    plan = _ColumnPlan(path)
    for i, name in enumerate(fields):
        # Labelled logs (IoT-23, Stratosphere) add a string-typed label column: a label, not text to drop.
        if name in _ALIASES or name.strip().lower() == _LABEL or types is None:
            plan.resolve(name)
        elif types[i] in _ZEEK_NUMERIC_TYPES:
            plan.columns[name] = _Column(_Role.NUMBER, (plan.extra_column(name),))
        else:
            plan.columns[name] = _Column(_Role.IGNORE)
    return plan


def _nsl_kdd_plan(path: str, width: int) -> tuple[list[str], _ColumnPlan]:
    names = [*NSL_KDD_FEATURES, _LABEL, "difficulty"][:width]
    plan = _ColumnPlan(path)
    for name in NSL_KDD_FEATURES:
        canonical = _NSL_KDD_CANONICAL.get(name)
        if canonical is not None and FLOW_DTYPES[canonical] == "object":
            plan.columns[name] = _Column(_Role.TEXT, (canonical,))
        else:
            # Every numeric feature is kept as an extra, even those that also fill a canonical column.
            targets = (canonical,) if canonical is not None else ()
            plan.columns[name] = _Column(_Role.NUMBER, (*targets, plan.extra_column(name)))
    plan.columns[_LABEL] = _Column(_Role.LABEL)
    # Difficulty grades how hard a record was to classify: label information, never a feature.
    plan.columns["difficulty"] = _Column(_Role.IGNORE)
    return names, plan


# --------------------------------------------------------------------------------------------
# Raw chunks: each format's lines, split into a DataFrame of source columns.


@dataclasses.dataclass(frozen=True)
class _Rejects:
    """Records rejected in one chunk, described lazily: usually only a few are ever shown."""

    lines: _IntArray  # ascending physical line numbers
    describe: Callable[[int], tuple[str | None, str]]  # i -> (field, message)


@dataclasses.dataclass(frozen=True)
class _RawChunk:
    raw: pd.DataFrame  # source columns as read, RangeIndex
    lines: _IntArray  # physical line of each raw row
    rejects: list[_Rejects]  # records that never made it into raw
    plan: _ColumnPlan
    missing: frozenset[str]


def _raw_chunks(
    fmt: Format, blocks: _Blocks, path: str, chunk_size: int, column_map: Mapping[str, str] | None
) -> Iterator[_RawChunk]:
    if fmt == "csv":
        return _csv_chunks(blocks, path, chunk_size, column_map)
    if fmt == "nsl-kdd":
        return _nsl_kdd_chunks(blocks, path, chunk_size)
    if fmt == "ndjson":
        return _json_chunks(blocks, chunk_size, _ColumnPlan(path, column_map))
    # Zeek writes either TSV with # headers or one JSON object per line; the first line tells.
    for linenos, lines in blocks:
        present = np.flatnonzero(~_blank(lines))
        if present.size:
            first = int(present[0])
            rest = itertools.chain([(linenos[first:], lines[first:])], blocks)
            if lines[first].lstrip().startswith("{"):
                return _json_chunks(rest, chunk_size, _ColumnPlan(path))
            return _zeek_tsv_chunks(rest, path, chunk_size)
    return iter(())


def _zeek_header_entries(value: str, separator: str) -> tuple[list[str], bool]:
    """The entries of a ``#fields`` or ``#types`` value, and whether IoT-23 joined some by three spaces."""
    entries = value.split(separator)
    if _IOT23_JOIN not in value or separator == " ":
        return entries, False
    return [part for entry in entries for part in entry.split(_IOT23_JOIN)], True


def _zeek_tsv_chunks(blocks: _Blocks, path: str, chunk_size: int) -> Iterator[_RawChunk]:
    separator, unset, empty = "\t", "-", "(empty)"
    fields: list[str] | None = None
    joined = False  # the #fields entries were joined by three spaces, so the records' fields are too
    types: list[str] | None = None
    types_line = 0
    plan: _ColumnPlan | None = None
    batcher = _Batcher(chunk_size)

    def flush(batch: _Batch) -> _RawChunk:
        assert fields is not None
        assert plan is not None
        if joined:
            batch = batch[0], list(map(operator.methodcaller("replace", _IOT23_JOIN, separator), batch[1]))
        return _split_delimited(batch, fields, separator, plan, _MISSING | {unset, empty}, path)

    for linenos, lines in blocks:
        # Header lines split the block into runs of records; most blocks have none. Some tools
        # indent them: lstrip returns a line without leading blanks as it is, without a copy.
        stripped = map(str.lstrip, lines)
        headers = np.flatnonzero(np.fromiter(map(operator.methodcaller("startswith", "#"), stripped), bool, len(lines)))
        bounds = [-1, *headers.tolist(), len(lines)]
        for run in range(len(bounds) - 1):
            if run > 0:
                for batch in batcher.rest():  # a header after records starts another log
                    yield flush(batch)
                lineno, text = int(linenos[bounds[run]]), lines[bounds[run]].lstrip()
                if text.startswith("#separator"):
                    # Written as "#separator \x09": the value itself uses Zeek's \xNN escapes.
                    try:
                        separator = codecs.decode(text.removeprefix("#separator").strip(), "unicode_escape")
                    except UnicodeDecodeError:
                        separator = ""
                    if len(separator) != 1:
                        raise MalformedInputError(RecordError(path, lineno, None, "#separator must be one character"))
                    plan = None
                else:
                    key, _, value = text[1:].partition(separator)
                    if key == "fields":
                        (fields, joined), types, plan = _zeek_header_entries(value, separator), None, None
                    elif key == "types":
                        types, types_line, plan = _zeek_header_entries(value, separator)[0], lineno, None
                    elif key == "unset_field":
                        unset, plan = value, None
                    elif key == "empty_field":
                        empty, plan = value, None
                    # #path, #open, #close, #set_separator carry nothing a flow needs
            start, stop = bounds[run] + 1, bounds[run + 1]
            if start >= stop:
                continue
            records = _select((linenos[start:stop], lines[start:stop]), ~_blank(lines[start:stop]))
            if not records[1]:
                continue
            if fields is None:
                message = f"Zeek TSV log has no #fields header before its first record (line {records[0][0]})"
                raise MalformedInputError(RecordError(path, 1, None, message))
            if plan is None:
                if types is not None and len(types) != len(fields):
                    message = f"#types has {len(types)} entries but #fields has {len(fields)}"
                    raise MalformedInputError(RecordError(path, types_line, None, message))
                plan = _zeek_plan(path, fields, types)
            for batch in batcher.add(records):
                yield flush(batch)
    for batch in batcher.rest():
        yield flush(batch)


def _csv_chunks(
    blocks: _Blocks, path: str, chunk_size: int, column_map: Mapping[str, str] | None
) -> Iterator[_RawChunk]:
    records = _records(blocks)
    first = next(records, None)
    if first is None:
        return
    header_line, header_text = int(first[0][0]), first[1][0]
    try:
        raw_names = next(csv.reader([header_text], strict=True))
    except csv.Error as exc:
        raise MalformedInputError(RecordError(path, header_line, None, f"unreadable CSV header: {exc}")) from exc
    names = _unique([name.strip() for name in raw_names])
    for target, name in (column_map or {}).items():
        if name.strip() not in names:
            message = f"column_map[{target!r}] names a column missing from the header"
            raise MalformedInputError(RecordError(path, header_line, name, message))
    plan = _ColumnPlan(path, column_map)
    for name in names:
        plan.resolve(name)
    rest = itertools.chain([(first[0][1:], first[1][1:])], records)
    for batch in _batched(rest, chunk_size):
        yield _split_delimited(batch, names, ",", plan, _MISSING, path, quotechar='"')


def _nsl_kdd_chunks(blocks: _Blocks, path: str, chunk_size: int) -> Iterator[_RawChunk]:
    layout: tuple[list[str], _ColumnPlan] | None = None
    for batch in _batched(_records(blocks), chunk_size):
        if layout is None:
            if batch[1][0].startswith("duration,protocol_type,"):
                batch = batch[0][1:], batch[1][1:]  # a header row, as some redistributions of the data add
                if not batch[1]:
                    continue
            width = next((w for w in (t.count(",") + 1 for t in batch[1]) if w in _NSL_KDD_WIDTHS), None)
            if width is None:  # no record with a plausible width yet
                linenos, counts = batch[0], _field_counts(batch[1], ",")
                rejects = [_count_rejects(linenos, counts, "41, 42 or 43")]
                plan = _ColumnPlan(path)
                yield _RawChunk(pd.DataFrame(index=pd.RangeIndex(0)), linenos[:0], rejects, plan, _MISSING)
                continue
            layout = _nsl_kdd_plan(path, width)
        names, plan = layout
        yield _split_delimited(batch, names, ",", plan, _MISSING, path)


def _json_chunks(blocks: _Blocks, chunk_size: int, plan: _ColumnPlan) -> Iterator[_RawChunk]:
    for batch_linenos, batch_lines in _batched(_records(blocks), chunk_size):
        objects: list[dict[str, object]] = []
        linenos: list[int] = []
        bad_lines: list[int] = []
        problems: list[str] = []
        # One json.loads per line is the only per-record Python work; conversion is columnar.
        for lineno, text in zip(batch_linenos.tolist(), batch_lines, strict=True):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError) as exc:
                bad_lines.append(lineno)
                problems.append(f"invalid JSON: {getattr(exc, 'msg', exc)}")
                continue
            if isinstance(value, dict):
                objects.append(value)
                linenos.append(lineno)
            else:
                bad_lines.append(lineno)
                problems.append(f"expected a JSON object, got {type(value).__name__}")
        raw = pd.DataFrame.from_records(objects) if objects else pd.DataFrame(index=pd.RangeIndex(0))
        rejects = [_message_rejects(bad_lines, problems)]
        yield _RawChunk(raw.reset_index(drop=True), np.array(linenos, dtype=np.int64), rejects, plan, _MISSING)


def _unique(names: list[str]) -> list[str]:
    """Suffix repeated header names (some CSV exports repeat a column) so none is lost."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}.{seen[name] - 1}")
    return out


def _field_counts(lines: list[str], separator: str) -> _IntArray:
    """Field counts (separators + 1) of unquoted lines."""
    counts = np.fromiter(map(operator.methodcaller("count", separator), lines), dtype=np.int64, count=len(lines))
    return counts + 1


def _message_rejects(linenos: list[int], messages: list[str]) -> _Rejects:
    def describe(i: int) -> tuple[str | None, str]:
        return None, messages[i]

    return _Rejects(np.array(linenos, dtype=np.int64), describe)


def _count_rejects(linenos: _IntArray, counts: _IntArray, expected: str) -> _Rejects:
    def describe(i: int) -> tuple[str | None, str]:
        if counts[i] < 0:
            return None, "unbalanced quotes"
        return None, f"wrong number of fields: expected {expected}, got {counts[i]}"

    return _Rejects(linenos, describe)


def _split_delimited(
    batch: _Batch,
    names: list[str],
    separator: str,
    plan: _ColumnPlan,
    missing: frozenset[str],
    path: str,
    quotechar: str | None = None,
) -> _RawChunk:
    """Check each line's field count, then let pandas' C parser read the well-formed ones."""
    linenos, lines = batch
    text = "\n".join(lines)
    if quotechar is not None and quotechar in text:
        return _split_quoted(batch, names, separator, quotechar, plan, missing)
    counts = _field_counts(lines, separator)
    good = counts == len(names)
    rejects = [_count_rejects(linenos[~good], counts[~good], str(len(names)))]
    n_good = int(good.sum())
    if n_good < len(lines):
        text = "\n".join(itertools.compress(lines, good.tolist()))
    roles = [plan.resolve(name).role for name in names]
    usecols = [i for i, role in enumerate(roles) if role is not _Role.IGNORE]
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
            dtype={i: object for i, role in enumerate(roles) if role in (_Role.TEXT, _Role.LABEL)},
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
    return _RawChunk(raw, linenos[good], rejects, plan, missing)


def _split_quoted(
    batch: _Batch,
    names: list[str],
    separator: str,
    quotechar: str,
    plan: _ColumnPlan,
    missing: frozenset[str],
) -> _RawChunk:
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
    rejects = [_count_rejects(linenos[~good], counts[~good], str(len(names)))]
    used = [name for name in names if plan.resolve(name).role is not _Role.IGNORE]
    raw = pd.DataFrame(rows, columns=names, dtype=object)[used]
    return _RawChunk(raw, linenos[good], rejects, plan, missing)


# --------------------------------------------------------------------------------------------
# Conversion: raw source columns to the canonical frame, with one problem code per value.


def _to_flows(chunk: _RawChunk) -> tuple[pd.DataFrame, pd.Series | None, _IntArray, list[_Rejects]]:
    """The canonical frame, its labels, the physical line of each of its rows, and the rejects."""
    raw = chunk.raw
    n = len(raw)
    out: dict[str, pd.Series] = {}
    labels: pd.Series | None = None
    checked: list[tuple[str, _Codes]] = []  # (source field, problem code per row), in file order
    for name in raw.columns:
        column = chunk.plan.resolve(name)
        series = raw[name]
        if column.role is _Role.IGNORE:
            continue
        if column.role is _Role.LABEL:
            labels = pd.Series(_parse_text(series, chunk.missing, None, strip="."), dtype=object)
            continue
        if column.role is _Role.TEXT:
            target = column.targets[0]
            _merge(out, target, pd.Series(_parse_text(series, chunk.missing, _CASE.get(target)), dtype=object))
            continue
        parse = _parse_times if column.role is _Role.TIME else _parse_numbers
        values, codes = parse(series, chunk.missing)
        if column.role is _Role.UNDECIDED:
            if np.isnan(values).all() and not codes.any():
                continue  # no values yet: decide when there are some
            column = chunk.plan.decide(name, numeric=not (codes == _NOT_NUMBER).any())
            if column.role is _Role.IGNORE:
                continue
        for target in column.targets:
            codes = _check_range(target, values, codes)
            _merge(out, target, pd.Series(values))
        checked.append((name, codes))

    problems = np.column_stack([codes for _, codes in checked]) if checked else np.zeros((n, 1), np.int8)
    bad = (problems != _OK).any(axis=1)
    bad_rows = np.flatnonzero(bad)
    first_bad = (problems[bad_rows] != _OK).argmax(axis=1)  # the first problem in file order

    def describe(i: int) -> tuple[str | None, str]:
        row, k = int(bad_rows[i]), int(first_bad[i])
        name = checked[k][0]
        return name, f"{_PROBLEMS[int(problems[row, k])]}: {_show(raw[name].iloc[row])}"

    keep = ~bad
    table = pd.DataFrame(out, index=pd.RangeIndex(n))
    if bad_rows.size:  # filtering copies every column: only pay for it when something is dropped
        table = table[keep].reset_index(drop=True)
        if labels is not None:
            labels = labels[keep].reset_index(drop=True)
    return _canonical(table), labels, chunk.lines[keep], [*chunk.rejects, _Rejects(chunk.lines[bad_rows], describe)]


def _canonical(table: pd.DataFrame) -> pd.DataFrame:
    """What :func:`normalize_frame` makes of ``table``, trusting how the columns were built here.

    Text columns already hold ``str`` or None and numeric ones float64, so no value needs
    converting or checking again: the general normaliser's per-value NA pass on every text
    column was a tenth of the reading cost.
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
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)
    frame.attrs[CANONICAL_MARK] = True  # the service need not normalise it again
    return frame


def _merge(out: dict[str, pd.Series], target: str, values: pd.Series) -> None:
    """Fill ``target``; when two sources feed it (orig_h and id.orig_h), the first present wins."""
    current = out.get(target)
    out[target] = values if current is None else current.where(current.notna(), values)


def _parse_text(
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


def _parse_numbers(series: pd.Series, missing: frozenset[str]) -> tuple[_FloatArray, _Codes]:
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
        codes[not_number] = _NOT_NUMBER
    infinite = np.isinf(values)
    codes[infinite] = _NOT_FINITE
    values[infinite] = np.nan
    return values, codes


def _parse_times(series: pd.Series, missing: frozenset[str]) -> tuple[_FloatArray, _Codes]:
    """Epoch seconds; ISO 8601 strings (Zeek's JSON::TS_ISO8601, CSV exports) are converted."""
    values, codes = _parse_numbers(series, missing)
    rows = np.flatnonzero(codes == _NOT_NUMBER)
    if rows.size:
        stamps = pd.to_datetime(series.iloc[rows].astype(str), utc=True, errors="coerce", format="ISO8601")
        seconds = ((stamps - _EPOCH) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)
        parsed = ~np.isnan(seconds)
        values[rows[parsed]] = seconds[parsed]
        codes[rows] = np.where(parsed, _OK, _NOT_TIME)
    return values, codes


def _check_range(target: str, values: _FloatArray, codes: _Codes) -> _Codes:
    if target in _PORTS:
        outside, code = (values < 0) | (values > 65535), _BAD_PORT
    elif target in _NON_NEGATIVE:
        outside, code = values < 0, _NEGATIVE
    else:
        return codes
    return np.where((codes == _OK) & outside, np.int8(code), codes).astype(np.int8)


def _show(value: object) -> str:
    if isinstance(value, np.generic):
        value = value.item()  # show 5, not np.int64(5)
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _first_errors(groups: list[_Rejects], limit: int, path: str) -> list[RecordError]:
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
