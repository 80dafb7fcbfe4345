from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from securenet.netsec.commands import _read_ahead


def test_read_ahead_yields_in_order_and_reads_one_item_ahead() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for i in range(5):
            produced.append(i)
            yield i

    seen = []
    for item in _read_ahead(items()):
        seen.append(item)
        # The next item may be in flight, never two.
        assert len(produced) <= item + 2
    assert seen == [0, 1, 2, 3, 4]


def test_read_ahead_runs_the_reader_on_another_thread_and_reraises_in_order() -> None:
    threads = set()

    def items() -> Iterator[int]:
        threads.add(threading.current_thread().name)
        yield 1
        raise ValueError("line 7: bad field")

    ahead = _read_ahead(items())
    assert next(ahead) == 1
    with pytest.raises(ValueError, match="line 7"):
        next(ahead)
    assert threads and threading.current_thread().name not in threads


def test_abandoning_read_ahead_closes_the_reader() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.set()

    ahead = _read_ahead(items())
    assert next(ahead) == 0
    ahead.close()
    assert closed.is_set()
