"""Regex matches found by trying a pattern only where one of its literal prefixes occurs.

Python's ``re`` cannot skip ahead in a case-insensitive pattern such as
``\\b(?:ignore|disregard|forget)\\s+...``: it starts a full match attempt at every position,
which made the rule tables cost ~9 µs per character. Almost every rule's matches must
begin with one of a few literal strings, though. :func:`match_prefixes` reads those off
the pattern's parse tree once; :func:`iter_matches` then looks for them in a case-folded
copy of the text with a case-sensitive alternation (which ``re`` scans quickly) and calls
``pattern.match`` only at the positions found.

The result is exactly ``pattern.finditer(text)``: a match can only start where one of its
prefixes occurs, ``pattern.match(text, i)`` finds the match a search would find at ``i``
(lookbehinds and ``\\b`` still see the text before ``i``), and the scan resumes where the
previous match ended. A pattern anchored at line starts (``(?m:^\\s*...)``) is tried at
each line start too. A pattern without such prefixes (it may start with ``\\d``) is
scanned with ``finditer``, but only when the text holds one of the literal strings every
match must contain somewhere (:func:`required_literals`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from functools import cache
from typing import Any, Final

__all__ = ["LINE_START", "case_fold", "iter_matches", "match_prefixes", "required_literals"]

# re's parser is private; if it ever changes shape, patterns are simply scanned in full.
try:
    from re import _constants as _c  # type: ignore[attr-defined,unused-ignore]
    from re import _parser  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover
    _parser = None

_FOLD: Final = str.maketrans(string.ascii_uppercase + "\u0130\u0131\u017f\u212a", string.ascii_lowercase + "iisk")
"""ASCII upper to lower case, and the four non-ASCII characters that ``re.IGNORECASE`` lets
match an ASCII letter (dotted and dotless i, long s, Kelvin sign)."""

MAX_PREFIX_CHARS: Final = 8
"""Prefixes are cut to this length: a longer one finds hardly fewer places to try."""

MAX_PREFIXES: Final = 256
"""A pattern with more distinct prefixes than this is scanned in full."""

LINE_START: Final = "\x00" * (MAX_PREFIX_CHARS + 1)
"""Stands for "the start of the text or of a line" among a pattern's prefixes (no real prefix is this long)."""

_Starts = frozenset[tuple[str, bool]]
"""Literal strings a match (of part of a pattern) starts with; ``True`` when the part is that string whole."""


def case_fold(text: str) -> str:
    """``text`` with every character that a case-insensitive ASCII letter matches made that letter.

    The result has the same length, so offsets into it are offsets into ``text``.
    """
    return text.lower() if text.isascii() else text.translate(_FOLD)


def _item_starts(op: Any, av: Any) -> _Starts:
    unknown: _Starts = frozenset({("", False)})
    if op is _c.LITERAL:
        return frozenset({(chr(av).lower(), True)}) if av < 0x80 else unknown
    if op is _c.IN:
        if len(av) <= 8 and all(o is _c.LITERAL and a < 0x80 for o, a in av):
            return frozenset((chr(a).lower(), True) for _, a in av)
        return unknown
    if op is _c.SUBPATTERN:
        return _sequence_starts(av[-1])
    if op is _c.ATOMIC_GROUP:
        return _sequence_starts(av)
    if op is _c.BRANCH:
        return frozenset().union(*(_sequence_starts(alt) for alt in av[1]))
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        low, high, body = av
        once = frozenset((s, whole and high == 1) for s, whole in _sequence_starts(body))
        return once | {("", True)} if low == 0 else once
    return unknown


def _sequence_starts(items: Any) -> _Starts:
    heads: set[tuple[str, bool]] = {("", True)}
    for op, av in items:
        if op is _c.AT and av in (_c.AT_BEGINNING, _c.AT_BEGINNING_LINE, _c.AT_BEGINNING_STRING):
            part: _Starts = frozenset({(LINE_START, False)})
        elif op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):  # zero-width: consumes nothing
            continue
        else:
            part = _item_starts(op, av)
        grown: set[tuple[str, bool]] = set()
        for head, open_ in heads:
            if not open_:
                grown.add((head, False))
                continue
            for tail, whole in part:
                if tail == LINE_START:  # a line start anchors the match only before anything is consumed
                    grown.add((head or LINE_START, False))
                    continue
                joined = head + tail
                grown.add((joined[:MAX_PREFIX_CHARS], whole and len(joined) < MAX_PREFIX_CHARS))
        if len(grown) > MAX_PREFIXES:  # stop growing the prefixes here
            return frozenset((head, False) for head, _ in heads)
        heads = grown
        if not any(open_ for _, open_ in heads):
            break
    return frozenset(heads)


@cache
def match_prefixes(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Case-folded literal strings every match of ``pattern`` starts with, or ``None`` if there are none.

    Non-ASCII pattern characters end a prefix (their case-insensitive matches are not
    folded by :func:`case_fold`). A prefix that another one starts with is left out.
    """
    if _parser is None:  # pragma: no cover
        return None
    try:
        starts = _sequence_starts(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # an unexpected parse tree only costs speed
        return None
    prefixes = {s for s, _ in starts}
    if "" in prefixes or len(prefixes) > MAX_PREFIXES:
        return None
    return frozenset(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes))


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The more selective of two sets of required strings: longer shortest string, then fewer strings."""
    if a is None or b is None:
        return a or b
    return a if (min(map(len, a)), -len(a)) >= (min(map(len, b)), -len(b)) else b


def _sequence_required(items: Any) -> frozenset[str] | None:
    best: frozenset[str] | None = None
    run = ""
    for op, av in items:
        if op is _c.LITERAL and av < 0x80:
            run += chr(av).lower()
            continue
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):  # zero-width: the literals around it are adjacent
            continue
        best = _better(best, frozenset({run}) if run else None)
        run = ""
        if op is _c.SUBPATTERN:
            best = _better(best, _sequence_required(av[-1]))
        elif op is _c.ATOMIC_GROUP:
            best = _better(best, _sequence_required(av))
        elif op is _c.BRANCH:
            alternatives = [_sequence_required(alt) for alt in av[1]]
            if all(alternatives):
                best = _better(best, frozenset().union(*(a for a in alternatives if a)))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and av[0] >= 1:
            best = _better(best, _sequence_required(av[2]))
    return _better(best, frozenset({run}) if run else None)


@cache
def required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Case-folded literal strings one of which every match of ``pattern`` contains, or ``None``."""
    if _parser is None:  # pragma: no cover
        return None
    try:
        return _sequence_required(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # an unexpected parse tree only costs speed
        return None


@cache
def _prefix_finder(pattern: re.Pattern[str]) -> tuple[re.Pattern[str], bool] | None:
    """A case-sensitive alternation of the pattern's prefixes (and ``\\n`` if it is anchored at line starts)."""
    prefixes = match_prefixes(pattern)
    if prefixes is None:
        return None
    line_start = LINE_START in prefixes
    literals = {"\n" if p == LINE_START else p for p in prefixes}
    return re.compile("|".join(re.escape(p) for p in sorted(literals, key=lambda p: (-len(p), p)))), line_start


_last_fold: tuple[str, str] = ("", "")


def _folded(text: str) -> str:
    # Every rule of every analyzer scans the same normalised text object in turn: fold it once.
    global _last_fold
    last = _last_fold
    if last[0] is text:
        return last[1]
    folded = case_fold(text)
    _last_fold = (text, folded)
    return folded


def iter_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """The matches of ``pattern.finditer(text)``, found by trying ``pattern`` only where they can start."""
    finder = _prefix_finder(pattern)
    folded = _folded(text)
    if finder is None:
        required = required_literals(pattern)
        if required is None or any(r in folded for r in required):
            yield from pattern.finditer(text)
        return
    prefix_re, line_start = finder
    match = pattern.match
    search = prefix_re.search
    if line_start:
        start: int | None = 0
    else:
        found = search(folded)
        start = found.start() if found else None
    while start is not None:
        m = match(text, start)
        resume = start + 1
        if m is not None:
            yield m
            resume = max(m.end(), resume)
        if line_start and resume == start + 1 and folded.startswith("\n", start):
            start += 1  # the next line starts here
            continue
        found = search(folded, resume)
        start = found.start() if found else None
