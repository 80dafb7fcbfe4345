"""The per-format readers, registered in :data:`READERS`: each cuts numbered lines into raw chunks."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import itertools
import json
import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd

from securenet.netsec.flows import FLOW_DTYPES
from securenet.netsec.readers._errors import MalformedInputError, RecordError
from securenet.netsec.readers._lines import Batch, Batcher, Blocks, batched, blank, select, without_blanks
from securenet.netsec.readers._plans import ALIASES, LABEL, Column, ColumnPlan, Role
from securenet.netsec.readers._raw import (
    RawChunk,
    count_rejects,
    field_counts,
    message_rejects,
    split_delimited,
    unique,
)
from securenet.netsec.readers._values import MISSING

Format = Literal["zeek", "csv", "ndjson", "nsl-kdd"]
FORMATS: tuple[str, ...] = get_args(Format)

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

#: Zeek types whose values are numbers; other types (string, addr, bool, set[...]) are not.
_ZEEK_NUMERIC_TYPES: Final = frozenset({"time", "interval", "count", "int", "double", "port"})

#: IoT-23's conn.log.labeled joins its last fields (tunnel_parents, label, detailed-label) with
#: three spaces instead of the separator, in #fields, #types and every record.
_IOT23_JOIN: Final = "   "


def _zeek_plan(path: str, fields: list[str], types: list[str] | None) -> ColumnPlan:
    plan = ColumnPlan(path)
    for i, name in enumerate(fields):
        # Labelled logs (IoT-23, Stratosphere) add a string-typed label column: a label, not text to drop.
        if name in ALIASES or name.strip().lower() == LABEL or types is None:
            plan.resolve(name)
        elif types[i] in _ZEEK_NUMERIC_TYPES:
            plan.columns[name] = Column(Role.NUMBER, (plan.extra_column(name),))
        else:
            plan.columns[name] = Column(Role.IGNORE)
    return plan


def _nsl_kdd_plan(path: str, width: int) -> tuple[list[str], ColumnPlan]:
    names = [*NSL_KDD_FEATURES, LABEL, "difficulty"][:width]
    plan = ColumnPlan(path)
    for name in NSL_KDD_FEATURES:
        canonical = _NSL_KDD_CANONICAL.get(name)
        if canonical is not None and FLOW_DTYPES[canonical] == "object":
            plan.columns[name] = Column(Role.TEXT, (canonical,))
        else:
            # Every numeric feature is kept as an extra, even those that also fill a canonical column.
            targets = (canonical,) if canonical is not None else ()
            plan.columns[name] = Column(Role.NUMBER, (*targets, plan.extra_column(name)))
    plan.columns[LABEL] = Column(Role.LABEL)
    # Difficulty grades how hard a record was to classify: label information, never a feature.
    plan.columns["difficulty"] = Column(Role.IGNORE)
    return names, plan


def _zeek_chunks(
    blocks: Blocks, path: str, chunk_size: int, column_map: Mapping[str, str] | None
) -> Iterator[RawChunk]:
    """Zeek writes either TSV with # headers or one JSON object per line; the first line tells."""
    for linenos, lines in blocks:
        present = np.flatnonzero(~blank(lines))
        if present.size:
            first = int(present[0])
            rest = itertools.chain([(linenos[first:], lines[first:])], blocks)
            if lines[first].lstrip().startswith("{"):
                yield from _json_chunks(rest, chunk_size, ColumnPlan(path))
            else:
                yield from _zeek_tsv_chunks(rest, path, chunk_size)
            return


def _ndjson_chunks(
    blocks: Blocks, path: str, chunk_size: int, column_map: Mapping[str, str] | None
) -> Iterator[RawChunk]:
    return _json_chunks(blocks, chunk_size, ColumnPlan(path, column_map))


def _zeek_header_entries(value: str, separator: str) -> tuple[list[str], bool]:
    """The entries of a ``#fields`` or ``#types`` value, and whether IoT-23 joined some by three spaces."""
    entries = value.split(separator)
    if _IOT23_JOIN not in value or separator == " ":
        return entries, False
    return [part for entry in entries for part in entry.split(_IOT23_JOIN)], True


def _zeek_tsv_chunks(blocks: Blocks, path: str, chunk_size: int) -> Iterator[RawChunk]:
    separator, unset, empty = "\t", "-", "(empty)"
    fields: list[str] | None = None
    joined = False  # the #fields entries were joined by three spaces, so the records' fields are too
    types: list[str] | None = None
    types_line = 0
    plan: ColumnPlan | None = None
    batcher = Batcher(chunk_size)

    def flush(batch: Batch) -> RawChunk:
        assert fields is not None
        assert plan is not None
        if joined:
            batch = batch[0], list(map(operator.methodcaller("replace", _IOT23_JOIN, separator), batch[1]))
        return split_delimited(batch, fields, separator, plan, MISSING | {unset, empty}, path)

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
            records = select((linenos[start:stop], lines[start:stop]), ~blank(lines[start:stop]))
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


def _csv_chunks(blocks: Blocks, path: str, chunk_size: int, column_map: Mapping[str, str] | None) -> Iterator[RawChunk]:
    records = without_blanks(blocks)
    first = next(records, None)
    if first is None:
        return
    header_line, header_text = int(first[0][0]), first[1][0]
    try:
        raw_names = next(csv.reader([header_text], strict=True))
    except csv.Error as exc:
        raise MalformedInputError(RecordError(path, header_line, None, f"unreadable CSV header: {exc}")) from exc
    names = unique([name.strip() for name in raw_names])
    for target, name in (column_map or {}).items():
        if name.strip() not in names:
            message = f"column_map[{target!r}] names a column missing from the header"
            raise MalformedInputError(RecordError(path, header_line, name, message))
    plan = ColumnPlan(path, column_map)
    for name in names:
        plan.resolve(name)
    rest = itertools.chain([(first[0][1:], first[1][1:])], records)
    for batch in batched(rest, chunk_size):
        yield split_delimited(batch, names, ",", plan, MISSING, path, quotechar='"')


def _nsl_kdd_chunks(
    blocks: Blocks, path: str, chunk_size: int, column_map: Mapping[str, str] | None
) -> Iterator[RawChunk]:
    layout: tuple[list[str], ColumnPlan] | None = None
    for batch in batched(without_blanks(blocks), chunk_size):
        if layout is None:
            if batch[1][0].startswith("duration,protocol_type,"):
                batch = batch[0][1:], batch[1][1:]  # a header row, as some redistributions of the data add
                if not batch[1]:
                    continue
            width = next((w for w in (t.count(",") + 1 for t in batch[1]) if w in _NSL_KDD_WIDTHS), None)
            if width is None:  # no record with a plausible width yet
                linenos, counts = batch[0], field_counts(batch[1], ",")
                rejects = [count_rejects(linenos, counts, "41, 42 or 43")]
                plan = ColumnPlan(path)
                yield RawChunk(pd.DataFrame(index=pd.RangeIndex(0)), linenos[:0], rejects, plan, MISSING)
                continue
            layout = _nsl_kdd_plan(path, width)
        names, plan = layout
        yield split_delimited(batch, names, ",", plan, MISSING, path)


def _json_chunks(blocks: Blocks, chunk_size: int, plan: ColumnPlan) -> Iterator[RawChunk]:
    for batch_linenos, batch_lines in batched(without_blanks(blocks), chunk_size):
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
        rejects = [message_rejects(bad_lines, problems)]
        yield RawChunk(raw.reset_index(drop=True), np.array(linenos, dtype=np.int64), rejects, plan, MISSING)


@dataclasses.dataclass(frozen=True)
class FormatReader:
    """How one format's numbered lines become raw chunks."""

    #: (line blocks, the file's name for messages, chunk size, column_map) -> raw chunks
    chunks: Callable[[Blocks, str, int, Mapping[str, str] | None], Iterator[RawChunk]]
    #: Whether the format has named columns of the writer's choosing, so a column_map applies.
    takes_column_map: bool = False


#: Every format :func:`~securenet.netsec.readers.read_flows` reads, by name.
READERS: Final[Mapping[Format, FormatReader]] = {
    "zeek": FormatReader(_zeek_chunks),
    "csv": FormatReader(_csv_chunks, takes_column_map=True),
    "ndjson": FormatReader(_ndjson_chunks, takes_column_map=True),
    "nsl-kdd": FormatReader(_nsl_kdd_chunks),
}
