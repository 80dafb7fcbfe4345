"""Streaming readers that turn flow logs into canonical flow batches.

Every supported format is converted to the :mod:`securenet.netsec.flows` schema here, at the
edge, so nothing downstream knows where a flow came from.

How a file is read, and where each step lives:

* ``_lines``: the file is read a megabyte of text at a time, split into lines in one C call,
  so no Python code runs per line on the way. Gzip input is recognised by its magic bytes,
  not by its name.
* ``_formats``: each format's reader (registered in one table, ``READERS``) cuts the numbered
  lines into raw chunks of at most ``chunk_size`` candidate records, so memory stays flat
  however large the file grows; ``_raw`` splits delimited lines, ``_plans`` says which source
  column feeds which canonical column.
* ``_convert`` and ``_values``: each chunk is parsed by pandas (``read_csv`` for delimited
  text, ``from_records`` for JSON) and converted and validated column by column with masks,
  never value by value.
* ``_stream``: every rejected record becomes a :class:`RecordError` naming the file, the
  1-based physical line and the field. ``on_error="skip"`` drops the record, counts it and
  logs the first few; ``on_error="fail"`` raises :class:`MalformedInputError` at the first
  one. A gzip stream cut off early is such an error too, at the line where it ends: the
  lines before it are read as usual, and the cut line is not a record. Problems with the
  file itself (a Zeek log without ``#fields``, a CSV header that lacks a mapped column,
  corrupt gzip data) always raise, because no record of such a file can be trusted.

Labels (a ``label`` column in any format, the last NSL-KDD field) come out beside the frame,
never as features. A record is one physical line in every format: flow logs never need
embedded newlines, and this keeps line numbers exact and chunks independent.
"""

from __future__ import annotations

from securenet.netsec.readers._errors import MalformedInputError, RecordError
from securenet.netsec.readers._formats import FORMATS, NSL_KDD_FEATURES, Format
from securenet.netsec.readers._stream import MAX_RECORDED_ERRORS, FlowChunk, ReadStats, read_all, read_flows

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
