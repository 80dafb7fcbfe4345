"""What both queues share: argument checks, spans, metrics and dead-lettering around a storage seam.

A subclass implements the storage steps (``_append``, ``_read_new``, ``_claim``, ``_bury``)
and the plain calls (``ack``, ``depth``, ``backlog``, ``ping``, ``dead_letters``, ``close``);
everything a caller observes beyond storage - tracing, counting, poison handling - happens
here, once.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self

from securenet.ingest._codec import RawEntry, encode_entries, sort_out
from securenet.ingest._metrics import ingest_metrics
from securenet.ingest._model import (
    DEFAULT_GROUP,
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAX_ENTRY_RECORDS,
    DEFAULT_MAX_LEN,
    DeadLetter,
    Message,
    QueueFullError,
    QueueUnavailableError,
    check_batch_args,
    stream_key,
    tenant_of,
)
from securenet.ingest._tracing import record_receive, send_span

__all__ = ["StreamQueueBase"]

_logger = logging.getLogger("securenet.ingest")


class StreamQueueBase(ABC):
    """A ``FlowQueue`` minus its storage."""

    system: ClassVar[str]

    def __init__(
        self,
        *,
        max_len: int = DEFAULT_MAX_LEN,
        group: str = DEFAULT_GROUP,
        max_entry_records: int = DEFAULT_MAX_ENTRY_RECORDS,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        retry_after_s: float = 1.0,
    ) -> None:
        if max_len < 1 or max_entry_records < 1 or max_deliveries < 1:
            raise ValueError("max_len, max_entry_records and max_deliveries must be at least 1")
        if not group:
            raise ValueError("group must be a non-empty name")
        self.max_len = max_len
        self.group = group
        self.max_entry_records = max_entry_records
        self.max_deliveries = max_deliveries
        self.retry_after_s = retry_after_s

    # -- the storage seam ---------------------------------------------------------------------------

    @abstractmethod
    def _append(self, tenant_id: str, stream: str, entries: list[dict[bytes, bytes]]) -> list[str]:
        """Add all entries or none; raise QueueFullError when they do not fit under max_len."""

    @abstractmethod
    def _read_new(self, consumer: str, count: int, block_ms: int) -> list[RawEntry]:
        """Deliver up to ``count`` never-delivered entries to ``consumer``."""

    @abstractmethod
    def _claim(self, consumer: str, min_idle_ms: int, count: int) -> list[RawEntry]:
        """Transfer up to ``count`` entries idle for ``min_idle_ms`` to ``consumer``."""

    @abstractmethod
    def _bury(self, poison: Sequence[tuple[RawEntry, str]], dead_at: float) -> None:
        """Append each entry to the dead-letter stream and acknowledge it, atomically."""

    @abstractmethod
    def ack(self, messages: Sequence[Message]) -> None: ...

    @abstractmethod
    def depth(self, tenant_id: str) -> int: ...

    @abstractmethod
    def backlog(self) -> int: ...

    @abstractmethod
    def ping(self) -> None: ...

    @abstractmethod
    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    @abstractmethod
    def close(self) -> None: ...

    # -- FlowQueue ----------------------------------------------------------------------------------

    def publish(self, tenant_id: str, records: Sequence[Mapping[str, Any]]) -> list[str]:
        stream = stream_key(tenant_id)
        if not records:
            return []
        metrics = ingest_metrics()
        with send_span(self.system, stream, tenant_id, len(records)) as send:
            entries = encode_entries(tenant_id, records, send.carrier, time.time(), self.max_entry_records)
            if len(entries) > self.max_len:
                raise ValueError(f"{len(records)} records need {len(entries)} entries, more than max_len")
            try:
                ids = self._append(tenant_id, stream, entries)
            except QueueFullError:
                metrics.rejected.add(len(entries), {"messaging.system": self.system, "tenant.id": tenant_id})
                raise
            send.sent(ids)
        metrics.published.add(len(ids), {"messaging.system": self.system, "tenant.id": tenant_id})
        return ids

    def consume(self, consumer: str, count: int, block_ms: int) -> list[Message]:
        check_batch_args(consumer, count, block_ms)
        start_ns = time.time_ns()
        return self._deliver(self._read_new(consumer, count, block_ms), "receive", start_ns)

    def reject(self, failures: Sequence[tuple[Message, str]]) -> None:
        last = [
            (RawEntry(message.stream, message.id, message.fields, message.delivery_count), reason)
            for message, reason in failures
            if message.delivery_count >= self.max_deliveries
        ]
        if last:
            self._dead_letter(last)

    def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[Message]:
        check_batch_args(consumer, count)
        if min_idle_ms < 0:
            raise ValueError(f"min_idle_ms must not be negative, got {min_idle_ms}")
        start_ns = time.time_ns()
        raw = self._claim(consumer, min_idle_ms, count)
        if raw:
            ingest_metrics().reclaimed.add(len(raw), {"messaging.system": self.system})
        return self._deliver(raw, "claim", start_ns)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _deliver(self, raw: list[RawEntry], operation: str, start_ns: int) -> list[Message]:
        messages, poison = sort_out(raw, self.max_deliveries, self.system, self.group)
        if poison:
            self._dead_letter(poison)
        record_receive(messages, operation_name=operation, start_ns=start_ns)
        return messages

    def _dead_letter(self, poison: Sequence[tuple[RawEntry, str]]) -> None:
        try:
            self._bury(poison, time.time())
        except QueueUnavailableError:
            # They stay pending, so a later claim_stale dead-letters them; the good messages go on.
            _logger.warning("could not dead-letter %d entries now; they stay pending", len(poison))
            return
        counter = ingest_metrics().dead_lettered
        for entry, reason in poison:
            counter.add(1, {"messaging.system": self.system, "tenant.id": tenant_of(entry.stream)})
            _logger.error(
                "dead-lettered entry %s of %s after %d deliveries: %s",
                entry.id,
                entry.stream,
                entry.delivery_count,
                reason,
            )
