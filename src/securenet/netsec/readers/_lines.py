"""Line I/O: open a file (or stdin) as text, gunzip by magic bytes, and yield numbered lines.

The file is read a megabyte of text at a time and split into lines in one C call, so no
Python code runs per line. Lines come out in blocks with their 1-based physical line
numbers. A gzip stream cut off early ends the lines at the last complete one, and the cut
is noted in :class:`Source` rather than raised, so every complete line is still read.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import itertools
import operator
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Final, TextIO

import numpy as np
import numpy.typing as npt

from securenet.netsec.readers._errors import MalformedInputError, RecordError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


#: Consecutive physical lines: their 1-based line numbers and their text without newlines.
Batch = tuple["npt.NDArray[np.int64]", list[str]]
Blocks = Iterator[Batch]
#: Characters of text read (and split into lines) at a time.
READ_CHARS: Final = 1 << 20

GZIP_MAGIC: Final = b"\x1f\x8b"


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
class Source:
    """The bytes under the text: a gzip stream, if they are one, and where it was cut off, once read."""

    gzip: _GzipStream | None = None
    truncation: RecordError | None = None


@contextmanager
def open_text(path: str) -> Iterator[tuple[TextIO, Source]]:
    """Open ``path`` (or stdin for ``-``) as UTF-8 text, decompressing gzip by its magic bytes."""
    binary: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    owned = path != "-"
    try:
        # Only a buffered reader can peek without consuming; anything else is read as plain text.
        magic = binary.peek(2)[:2] if isinstance(binary, io.BufferedReader) else b""
        gzipped = _GzipStream(binary) if magic == GZIP_MAGIC else None
        source: IO[bytes] = binary if gzipped is None else io.BufferedReader(gzipped)
        # utf-8-sig drops a BOM; "replace" turns stray bytes into U+FFFD, which then fails
        # validation in the field it lands in instead of aborting the whole file.
        text = io.TextIOWrapper(source, encoding="utf-8-sig", errors="replace", newline=None)
        try:
            yield text, Source(gzipped)
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


def line_blocks(text: TextIO, path: str, source: Source) -> Blocks:
    """Yield the file's lines in blocks, without newlines, with their 1-based line numbers.

    A gzip stream cut off early ends the lines at the last complete one: the cut line is noted
    in ``source.truncation``, not yielded, as a fragment of a record is not a record.
    """
    lineno = 0
    tail = ""
    while True:
        try:
            piece = text.read(READ_CHARS)
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


def blank(lines: list[str]) -> npt.NDArray[np.bool_]:
    """Which lines are empty or whitespace only."""
    blank = np.fromiter(map(str.isspace, lines), dtype=bool, count=len(lines))
    if "" in lines:
        blank |= np.fromiter(map(operator.not_, lines), dtype=bool, count=len(lines))
    return blank


def select(batch: Batch, keep: npt.NDArray[np.bool_]) -> Batch:
    linenos, lines = batch
    if keep.all():
        return batch
    return linenos[keep], list(itertools.compress(lines, keep.tolist()))


def without_blanks(blocks: Blocks) -> Blocks:
    """Drop blank lines: they separate nothing and are not records."""
    for linenos, lines in blocks:
        kept = select((linenos, lines), ~blank(lines))
        if kept[1]:
            yield kept


class Batcher:
    """Regroups runs of lines into batches of exactly ``size`` lines (the last one may be short)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.linenos = np.zeros(0, dtype=np.int64)
        self.lines: list[str] = []

    def add(self, batch: Batch) -> Iterator[Batch]:
        self.linenos = np.concatenate([self.linenos, batch[0]])
        self.lines = self.lines + batch[1]
        start = 0
        while len(self.lines) - start >= self.size:
            yield self.linenos[start : start + self.size], self.lines[start : start + self.size]
            start += self.size
        self.linenos, self.lines = self.linenos[start:], self.lines[start:]

    def rest(self) -> Iterator[Batch]:
        if self.lines:
            yield self.linenos, self.lines
        self.linenos, self.lines = self.linenos[:0], []


def batched(blocks: Blocks, size: int) -> Blocks:
    batcher = Batcher(size)
    for block in blocks:
        yield from batcher.add(block)
    yield from batcher.rest()
