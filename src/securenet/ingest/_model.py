"""The queue's vocabulary: keys, messages, dead letters, errors and the ``FlowQueue`` protocol."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DEAD_LETTER_STREAM",
    "DEFAULT_GROUP",
    "DEFAULT_MAX_DELIVERIES",
    "DEFAULT_MAX_ENTRY_RECORDS",
    "DEFAULT_MAX_LEN",
    "MAX_BLOCK_MS",
    "STREAM_PREFIX",
    "STREAM_REGISTRY",
    "DeadLetter",
    "FlowQueue",
    "Message",
    "QueueError",
    "QueueFullError",
    "QueueUnavailableError",
    "check_batch_args",
    "stream_key",
    "tenant_of",
]

#: Every tenant's stream is ``securenet:flows:{tenant_id}``.
STREAM_PREFIX = "securenet:flows:"
#: The SET of tenant stream keys, updated on publish, from which consumers discover streams.
STREAM_REGISTRY = "securenet:flows:streams"
#: Where entries that cannot be processed go, with the reason (see ``DeadLetter``).
DEAD_LETTER_STREAM = "securenet:flows:dead"
#: The consumer group every worker joins.
DEFAULT_GROUP = "securenet-workers"
#: Entries (not records) a tenant's stream may hold before ``publish`` refuses more.
DEFAULT_MAX_LEN = 100_000
#: Records per stream entry; a larger published batch becomes several entries.
DEFAULT_MAX_ENTRY_RECORDS = 1_000
#: Deliveries an entry gets: one that fails on its last (``reject``), or is never acknowledged
#: (``claim_stale``), is dead-lettered.
DEFAULT_MAX_DELIVERIES = 5
#: The longest ``block_ms`` a consumer may ask for (the Redis reader's socket timeout covers it).
MAX_BLOCK_MS = 60_000

# Tenant ids are UUIDs in the store; this also keeps ":" and glob characters out of keys.
_TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# Keys of our own that share the prefix: a tenant with one of these ids would collide with them.
_RESERVED_TENANTS = frozenset({DEAD_LETTER_STREAM, STREAM_REGISTRY})


def stream_key(tenant_id: str) -> str:
    """The stream of ``tenant_id``; raises ValueError for an id that is unsafe in a key."""
    key = STREAM_PREFIX + tenant_id
    if not isinstance(tenant_id, str) or not _TENANT_RE.fullmatch(tenant_id) or key in _RESERVED_TENANTS:
        raise ValueError(f"invalid tenant id {tenant_id!r}")
    return key


def tenant_of(stream: str) -> str:
    """The tenant id a stream key belongs to (the inverse of ``stream_key``)."""
    return stream.removeprefix(STREAM_PREFIX)


def check_batch_args(consumer: str, count: int, block_ms: int = 0) -> None:
    if not consumer:
        raise ValueError("consumer must be a non-empty name")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if not 0 <= block_ms <= MAX_BLOCK_MS:
        raise ValueError(f"block_ms must be between 0 and {MAX_BLOCK_MS}, got {block_ms}")


class QueueError(Exception):
    """Base class of the queue's errors."""


class QueueFullError(QueueError):
    """The tenant's stream holds ``max_len`` unacknowledged entries; nothing was published.

    The API maps it to 429/503 with ``Retry-After: retry_after_s``.
    """

    def __init__(self, tenant_id: str, depth: int, retry_after_s: float) -> None:
        super().__init__(f"the flow queue of tenant {tenant_id!r} is full ({depth} entries waiting)")
        self.tenant_id = tenant_id
        self.depth = depth
        self.retry_after_s = retry_after_s


class QueueUnavailableError(QueueError):
    """The queue's backend cannot be reached or refuses writes (the API maps it to 503).

    Workers catch it around ``consume``/``claim_stale``/``ack`` and wait with ``Backoff``.
    """

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Message:
    """One stream entry: a batch of one tenant's flow records, as published.

    ``carrier`` holds the producer's propagation headers (``traceparent``, ``tracestate``,
    or whatever the configured propagators write). ``delivery_count`` counts this delivery:
    1 for a new entry, more when ``claim_stale`` redelivers it. ``system`` and ``group`` say
    where it was read (``messaging.system``, consumer group) so ``process_span`` needs no more.
    """

    id: str
    stream: str
    tenant_id: str
    records: list[dict[str, Any]]
    carrier: dict[str, str]
    delivery_count: int
    published_at: float
    system: str = field(default="", compare=False, repr=False)
    group: str = field(default="", compare=False, repr=False)
    #: The entry's fields as stored, so a dead letter keeps the entry untouched.
    fields: Mapping[bytes, bytes] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entry moved to ``securenet:flows:dead`` instead of being processed.

    ``fields`` are the entry's original fields, untouched, so it can be inspected or requeued.
    """

    id: str
    stream: str
    message_id: str
    tenant_id: str
    error: str
    delivery_count: int
    dead_at: float
    fields: Mapping[bytes, bytes]


@runtime_checkable
class FlowQueue(Protocol):
    """A durable, per-tenant, bounded queue of flow batches consumed by a group of workers.

    Delivery is at least once: a worker processes a batch inside ``process_span(batch)``,
    commits its results idempotently (keyed on ``(tenant_id, message.id)``) and then calls
    ``ack``. Every method is synchronous and safe to call from several threads.
    """

    def publish(self, tenant_id: str, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Append ``records`` to the tenant's stream; returns the new entry ids.

        One entry per ``max_entry_records`` records, all added or none. Raises
        ``QueueFullError`` when they do not fit under ``max_len``, ``QueueUnavailableError``
        when the backend is down, TypeError for records that are not JSON-serialisable.
        """
        ...

    def consume(self, consumer: str, count: int, block_ms: int) -> list[Message]:
        """Up to ``count`` entries never delivered to the group, across all tenants.

        Waits up to ``block_ms`` (0: do not wait) when there are none. Entries that cannot
        be decoded are dead-lettered and not returned.
        """
        ...

    def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[Message]:
        """Take over up to ``count`` entries delivered but unacknowledged for ``min_idle_ms``.

        Entries delivered more than ``max_deliveries`` times are dead-lettered instead.
        """
        ...

    def ack(self, messages: Sequence[Message]) -> None:
        """Acknowledge and delete processed entries; they are never delivered again."""
        ...

    def reject(self, failures: Sequence[tuple[Message, str]]) -> None:
        """Report ``(message, reason)`` pairs whose processing failed.

        A message on its last permitted delivery (``max_deliveries``) is dead-lettered with the
        reason, counted, logged once and acknowledged; the others stay pending, and
        ``claim_stale`` delivers them again once idle. The reason is stored: no secrets in it.
        """
        ...

    def depth(self, tenant_id: str) -> int:
        """Entries of the tenant not yet acknowledged (waiting or being processed)."""
        ...

    def backlog(self) -> int:
        """Entries not yet acknowledged, all tenants together."""
        ...

    def ping(self) -> None:
        """Return when the backend answers; raise ``QueueUnavailableError`` otherwise (readiness)."""
        ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The oldest ``limit`` dead letters."""
        ...

    def close(self) -> None:
        """Release connections; later calls raise ``QueueUnavailableError``."""
        ...
