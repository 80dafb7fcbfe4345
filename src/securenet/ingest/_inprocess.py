"""``InProcessQueue``: the Redis queue's semantics in one process's memory, for when no Redis is configured.

Entries are stored encoded, exactly as in Redis, so a published batch is copied (later
changes to the caller's dicts do not reach workers) and decoding failures are handled by
the same code. Nothing survives the process; that is the difference that remains.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from securenet.ingest._base import StreamQueueBase
from securenet.ingest._codec import RawEntry, decode_dead_letter, encode_dead_letter
from securenet.ingest._model import (
    DEFAULT_GROUP,
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAX_ENTRY_RECORDS,
    DEFAULT_MAX_LEN,
    DeadLetter,
    Message,
    QueueFullError,
    QueueUnavailableError,
    stream_key,
)
from securenet.ingest._tracing import SYSTEM_INPROCESS

__all__ = ["InProcessQueue"]


@dataclass(slots=True)
class _Delivery:
    consumer: str
    delivered_at: float  # time.monotonic()
    count: int


@dataclass(slots=True)
class _Stream:
    # Unacknowledged entries in id order: `entries` holds them all, `waiting` the never-delivered
    # ones, `pending` the delivered ones (insertion order is first-delivery order, i.e. id order).
    entries: dict[str, Mapping[bytes, bytes]] = field(default_factory=dict)
    waiting: deque[str] = field(default_factory=deque)
    pending: dict[str, _Delivery] = field(default_factory=dict)


class InProcessQueue(StreamQueueBase):
    """A thread-safe ``FlowQueue`` in memory with ``RedisStreamQueue``'s semantics.

    Ids are ``"<unix ms>-<seq>"`` and increase monotonically, as Redis stream ids do.
    """

    system = SYSTEM_INPROCESS

    def __init__(
        self,
        *,
        max_len: int = DEFAULT_MAX_LEN,
        group: str = DEFAULT_GROUP,
        max_entry_records: int = DEFAULT_MAX_ENTRY_RECORDS,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        retry_after_s: float = 1.0,
    ) -> None:
        super().__init__(
            max_len=max_len,
            group=group,
            max_entry_records=max_entry_records,
            max_deliveries=max_deliveries,
            retry_after_s=retry_after_s,
        )
        self._cond = threading.Condition()
        self._streams: dict[str, _Stream] = {}
        self._dead: list[DeadLetter] = []
        self._last_ms = 0
        self._seq = 0
        self._cursor = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"InProcessQueue(group={self.group!r}, max_len={self.max_len})"

    def _check_open(self, operation: str) -> None:
        if self._closed:
            raise QueueUnavailableError(f"{operation}: the queue is closed", self.retry_after_s)

    def _next_id(self) -> str:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > self._last_ms:
            self._last_ms, self._seq = now_ms, 0
        else:  # same millisecond, or the clock went back: stay monotonic
            self._seq += 1
        return f"{self._last_ms}-{self._seq}"

    # -- storage ------------------------------------------------------------------------------------

    def _append(self, tenant_id: str, stream: str, entries: list[dict[bytes, bytes]]) -> list[str]:
        with self._cond:
            self._check_open("publish")
            state = self._streams.setdefault(stream, _Stream())
            depth = len(state.entries)
            if depth + len(entries) > self.max_len:
                raise QueueFullError(tenant_id, depth, self.retry_after_s)
            ids = [self._add(state, fields) for fields in entries]
            self._cond.notify_all()
            return ids

    def _add(self, state: _Stream, fields: Mapping[bytes, bytes]) -> str:
        entry_id = self._next_id()
        state.entries[entry_id] = fields
        state.waiting.append(entry_id)
        return entry_id

    def _append_raw(self, tenant_id: str, fields: Mapping[bytes, bytes]) -> str:
        """Add an entry as a foreign writer might have (a test seam for undecodable entries)."""
        with self._cond:
            entry_id = self._add(self._streams.setdefault(stream_key(tenant_id), _Stream()), dict(fields))
            self._cond.notify_all()
            return entry_id

    def _read_new(self, consumer: str, count: int, block_ms: int) -> list[RawEntry]:
        deadline = time.monotonic() + block_ms / 1000
        with self._cond:
            self._check_open("consume")
            while not any(s.waiting for s in self._streams.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)
                self._check_open("consume")
            # Round-robin, one entry per tenant in turn: no tenant starves another.
            names = sorted(self._streams)
            start = self._cursor % len(names)
            self._cursor = start + 1
            rotation = [(name, self._streams[name]) for name in names[start:] + names[:start]]
            now = time.monotonic()
            entries: list[RawEntry] = []
            while len(entries) < count:
                progressed = False
                for name, state in rotation:
                    if state.waiting and len(entries) < count:
                        entry_id = state.waiting.popleft()
                        state.pending[entry_id] = _Delivery(consumer, now, 1)
                        entries.append(RawEntry(name, entry_id, state.entries[entry_id], 1))
                        progressed = True
                if not progressed:
                    break
            return entries

    def _claim(self, consumer: str, min_idle_ms: int, count: int) -> list[RawEntry]:
        with self._cond:
            self._check_open("claim_stale")
            now = time.monotonic()
            claimed: list[RawEntry] = []
            for name in sorted(self._streams):
                state = self._streams[name]
                for entry_id, delivery in state.pending.items():
                    if len(claimed) >= count:
                        return claimed
                    if (now - delivery.delivered_at) * 1000 >= min_idle_ms:
                        delivery.consumer, delivery.delivered_at = consumer, now
                        delivery.count += 1
                        claimed.append(RawEntry(name, entry_id, state.entries[entry_id], delivery.count))
            return claimed

    def _bury(self, poison: Sequence[tuple[RawEntry, str]], dead_at: float) -> None:
        with self._cond:
            self._check_open("dead-letter")
            for entry, reason in poison:
                fields = encode_dead_letter(entry, reason, dead_at)
                self._dead.append(decode_dead_letter(self._next_id(), fields))
                self._remove(entry.stream, entry.id)

    def _remove(self, stream: str, entry_id: str) -> None:
        state = self._streams.get(stream)
        if state is not None and state.pending.pop(entry_id, None) is not None:
            del state.entries[entry_id]

    def ack(self, messages: Sequence[Message]) -> None:
        with self._cond:
            self._check_open("ack")
            for message in messages:
                self._remove(message.stream, message.id)

    def depth(self, tenant_id: str) -> int:
        stream = stream_key(tenant_id)
        with self._cond:
            self._check_open("depth")
            state = self._streams.get(stream)
            return 0 if state is None else len(state.entries)

    def backlog(self) -> int:
        with self._cond:
            self._check_open("backlog")
            return sum(len(state.entries) for state in self._streams.values())

    def ping(self) -> None:
        with self._cond:
            self._check_open("ping")

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        with self._cond:
            self._check_open("dead_letters")
            return self._dead[:limit]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()  # blocked consumers wake up and raise
