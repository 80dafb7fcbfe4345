"""The stream: open, cut into raw chunks, convert, account for rejects; and the public read functions."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from securenet.netsec.flows import empty_frame, require_canonical
from securenet.netsec.readers._convert import to_flows
from securenet.netsec.readers._errors import MalformedInputError, RecordError
from securenet.netsec.readers._formats import FORMATS, READERS, Format
from securenet.netsec.readers._lines import line_blocks, open_text
from securenet.netsec.readers._plans import check_column_map
from securenet.netsec.readers._raw import first_errors

#: One logger for the whole reader package, named after its public face.
logger = logging.getLogger("securenet.netsec.readers")

OnError = Literal["skip", "fail"]

#: ReadStats keeps this many RecordErrors; later ones are only counted.
MAX_RECORDED_ERRORS: Final = 100
#: Each stream logs this many skipped records one by one, then one summary at the end.
_WARN_FIRST: Final = 5


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

    frame: pd.DataFrame  # a canonical batch (see securenet.netsec.flows), RangeIndex
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
        if not READERS[fmt].takes_column_map:
            mapped = " and ".join(repr(name) for name, reader in READERS.items() if reader.takes_column_map)
            raise ValueError(f"column_map applies to {mapped}, not {fmt!r}")
        check_column_map(column_map)
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
    # with one dtype, so concat neither warns nor guesses. Canonical chunks make a canonical whole.
    columns = list(dict.fromkeys(c for chunk in chunks for c in chunk.frame.columns))
    frame = require_canonical(pd.concat([chunk.frame.reindex(columns=columns) for chunk in chunks], ignore_index=True))
    labels: pd.Series | None = None
    if any(chunk.labels is not None for chunk in chunks):
        parts = [
            chunk.labels if chunk.labels is not None else pd.Series([None] * len(chunk.frame), dtype=object)
            for chunk in chunks
        ]
        labels = pd.concat(parts, ignore_index=True).astype(object)
    return FlowChunk(frame, labels, 0)


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
    with open_text(path) as (text, source):
        blocks = line_blocks(text, shown, source)
        for chunk in READERS[fmt].chunks(blocks, shown, chunk_size, column_map):
            frame, labels, kept_lines, rejects = to_flows(chunk)
            rejected = sum(len(group.lines) for group in rejects)
            record_index = None
            skipped_here: tuple[tuple[int, RecordError], ...] = ()
            if rejected:
                if on_error == "fail":
                    raise MalformedInputError(first_errors(rejects, 1, shown)[0])
                errors = first_errors(rejects, rejected, shown)  # all of them: each gets its own output
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
