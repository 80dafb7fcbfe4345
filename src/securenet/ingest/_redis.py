"""``RedisStreamQueue``: one Redis stream per tenant, one consumer group for all workers.

Layout (a single Redis, not a cluster: the publish script touches two keys):

* ``securenet:flows:{tenant_id}`` - the tenant's stream; acknowledged entries are deleted,
  so its length (XLEN) is exactly the tenant's backlog: waiting plus in-flight entries.
* ``securenet:flows:streams`` - a SET of the tenant streams, which consumers read to know
  what to XREADGROUP from.
* ``securenet:flows:dead`` - dead letters, never trimmed (operators alert on
  ``ingest_messages_dead_lettered_total`` and inspect them with ``dead_letters()``).

``publish`` is one Lua script: check XLEN against ``max_len``, then XADD every entry of the
batch, so concurrent publishers can never push a stream past its bound and nothing is ever
trimmed. ``ack`` is XACK + XDEL in one MULTI. Blocking reads use a second connection pool
whose socket timeout covers ``MAX_BLOCK_MS``; every other call fails within ``timeout_s``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.exceptions import (
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import (
    TimeoutError as RedisTimeoutError,
)
from redis.retry import Retry

from securenet.ingest._base import StreamQueueBase
from securenet.ingest._codec import RawEntry, decode_dead_letter, encode_dead_letter
from securenet.ingest._model import (
    DEAD_LETTER_STREAM,
    DEFAULT_GROUP,
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAX_ENTRY_RECORDS,
    DEFAULT_MAX_LEN,
    MAX_BLOCK_MS,
    STREAM_REGISTRY,
    DeadLetter,
    Message,
    QueueFullError,
    QueueUnavailableError,
    stream_key,
)
from securenet.ingest._tracing import SYSTEM_REDIS

__all__ = ["RedisStreamQueue"]

T = TypeVar("T")

# KEYS: stream, registry. ARGV: max_len, group, entry count, fields per entry (x2), then the fields.
_PUBLISH_SCRIPT = """
local depth = redis.call('XLEN', KEYS[1])
local count = tonumber(ARGV[3])
if depth + count > tonumber(ARGV[1]) then
  return {0, depth}
end
if depth == 0 then
  -- A new or drained stream: the group must exist, reading from the start, before entries do.
  redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[2], '0', 'MKSTREAM')
end
redis.call('SADD', KEYS[2], KEYS[1])
local width = tonumber(ARGV[4])
local ids = {}
for i = 0, count - 1 do
  local first = 5 + i * width
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', unpack(ARGV, first, first + width - 1))
end
return {1, ids}
"""

# Errors meaning "Redis cannot serve us now", as opposed to a bug in a command.
_UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    OutOfMemoryError,
    ReadOnlyError,
    MasterDownError,
    TryAgainError,
)
#: How long the list of tenant streams is reused before SMEMBERS is asked again.
_DISCOVERY_INTERVAL_S = 1.0


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _no_group(exc: ResponseError) -> bool:
    return str(exc).startswith("NOGROUP")


class RedisStreamQueue(StreamQueueBase):
    """The production ``FlowQueue`` on Redis streams (Redis >= 6.2 for XAUTOCLAIM).

    ``timeout_s`` bounds connecting and every non-blocking call. A connection error is
    retried once on a fresh connection (which heals pooled connections after a Redis
    restart); anything longer is the caller's ``QueueUnavailableError``.
    """

    system = SYSTEM_REDIS

    def __init__(
        self,
        url: str,
        *,
        max_len: int = DEFAULT_MAX_LEN,
        group: str = DEFAULT_GROUP,
        max_entry_records: int = DEFAULT_MAX_ENTRY_RECORDS,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        retry_after_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        super().__init__(
            max_len=max_len,
            group=group,
            max_entry_records=max_entry_records,
            max_deliveries=max_deliveries,
            retry_after_s=retry_after_s,
        )
        self._where = _redacted(url)
        self._client = self._connect(url, timeout_s, timeout_s)
        self._reader = self._connect(url, timeout_s, timeout_s + MAX_BLOCK_MS / 1000)
        self._publish_script = self._client.register_script(_PUBLISH_SCRIPT)
        self._lock = threading.Lock()
        self._grouped: set[str] = set()
        self._streams: list[str] = []
        self._streams_until = 0.0
        self._cursor = 0
        self._closed = False

    @staticmethod
    def _connect(url: str, connect_timeout_s: float, timeout_s: float) -> redis.Redis:
        return redis.Redis.from_url(
            url,
            protocol=2,
            socket_connect_timeout=connect_timeout_s,
            socket_timeout=timeout_s,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), 1, supported_errors=(RedisConnectionError,)),
        )

    def __repr__(self) -> str:
        return f"RedisStreamQueue({self._where!r}, group={self.group!r}, max_len={self.max_len})"

    @contextmanager
    def _available(self, operation: str) -> Iterator[None]:
        if self._closed:
            raise QueueUnavailableError(f"{operation}: the queue is closed", self.retry_after_s)
        try:
            yield
        except _UNAVAILABLE as exc:
            raise QueueUnavailableError(
                f"{operation}: Redis at {self._where} is unavailable ({type(exc).__name__})", self.retry_after_s
            ) from exc

    # -- storage ------------------------------------------------------------------------------------

    def _append(self, tenant_id: str, stream: str, entries: list[dict[bytes, bytes]]) -> list[str]:
        args: list[Any] = [self.max_len, self.group, len(entries), 2 * len(entries[0])]
        for fields in entries:
            for pair in fields.items():
                args.extend(pair)
        with self._available("publish"):
            added, result = self._publish_script(keys=[stream, STREAM_REGISTRY], args=args)
        if not added:
            raise QueueFullError(tenant_id, int(result), self.retry_after_s)
        return [i.decode() for i in result]

    def _read_new(self, consumer: str, count: int, block_ms: int) -> list[RawEntry]:
        with self._available("consume"):
            streams = self._tenant_streams()
            if not streams:
                time.sleep(block_ms / 1000)  # nothing to block on yet; waiting keeps the caller from spinning
                return []
            # Round-robin over tenants, `per` entries from each: one busy tenant cannot starve the
            # rest, and the total never exceeds `count` (read entries are pending: none may be dropped).
            with self._lock:
                k = min(len(streams), count)
                start = self._cursor % len(streams)
                self._cursor = start + k
            selected = (streams[start:] + streams[:start])[:k]
            per = count // k
            client = self._reader if block_ms else self._client
            batch = self._xreadgroup(client, consumer, selected, per, block_ms or None)
            entries = list(batch)
            # Spend what is left of `count` on the streams that had more, without blocking again.
            while batch and len(entries) < count:
                remaining = count - len(entries)
                got = Counter(e.stream for e in batch)
                selected = [s for s in selected if got[s] == per][:remaining]
                if not selected:
                    break
                per = remaining // len(selected)
                try:
                    batch = self._xreadgroup(self._client, consumer, selected, per, None)
                except _UNAVAILABLE:
                    break  # return what was already delivered; the next call reports the outage
                entries.extend(batch)
            return entries

    def _xreadgroup(
        self, client: redis.Redis, consumer: str, streams: list[str], per: int, block: int | None
    ) -> list[RawEntry]:
        def read() -> Any:
            return client.xreadgroup(self.group, consumer, dict.fromkeys(streams, ">"), count=per, block=block)

        reply = self._recreating_groups(streams, read)
        return [
            RawEntry(stream.decode(), entry_id.decode(), fields, 1)
            for stream, items in reply or ()
            for entry_id, fields in items
            if fields is not None
        ]

    def _claim(self, consumer: str, min_idle_ms: int, count: int) -> list[RawEntry]:
        claimed: list[tuple[str, str, dict[bytes, bytes]]] = []
        with self._available("claim_stale"):
            for stream in self._streams_with_stale(min_idle_ms):
                cursor: Any = "0-0"
                while len(claimed) < count:
                    autoclaim = partial(
                        self._client.xautoclaim,
                        stream,
                        self.group,
                        consumer,
                        min_idle_ms,
                        cursor,
                        count=count - len(claimed),
                    )
                    cursor, items = self._recreating_groups([stream], autoclaim)[:2]
                    claimed.extend((stream, i.decode(), f) for i, f in items if f is not None)
                    if cursor in (b"0-0", "0-0"):
                        break
                if len(claimed) >= count:
                    break
            if not claimed:
                return []
            # XAUTOCLAIM does not say how often an entry was delivered; XPENDING does.
            pipe = self._client.pipeline(transaction=False)
            for stream, entry_id, _ in claimed:
                pipe.xpending_range(stream, self.group, entry_id, entry_id, 1)
            pending = pipe.execute()
        return [
            # An entry acknowledged meanwhile has no pending info: it was delivered at least twice.
            RawEntry(stream, entry_id, fields, int(info[0]["times_delivered"]) if info else 2)
            for (stream, entry_id, fields), info in zip(claimed, pending, strict=True)
        ]

    def _streams_with_stale(self, min_idle_ms: int) -> list[str]:
        """The streams with an entry idle for ``min_idle_ms``, found in one round trip.

        Workers call ``claim_stale`` every loop and usually nothing is stale: asking each
        stream's pending list for one idle entry, pipelined, keeps that to one call.
        """
        streams = self._tenant_streams()
        pipe = self._client.pipeline(transaction=False)
        for stream in streams:
            pipe.xpending_range(stream, self.group, "-", "+", 1, idle=min_idle_ms)
        # A stream whose group vanished (NOGROUP) has nothing pending: skip it.
        replies = pipe.execute(raise_on_error=False)
        return [s for s, reply in zip(streams, replies, strict=True) if reply and not isinstance(reply, Exception)]

    def _bury(self, poison: Sequence[tuple[RawEntry, str]], dead_at: float) -> None:
        with self._available("dead-letter"):
            pipe = self._client.pipeline(transaction=True)
            for entry, reason in poison:
                pipe.xadd(DEAD_LETTER_STREAM, encode_dead_letter(entry, reason, dead_at))  # type: ignore[arg-type]
                pipe.xack(entry.stream, self.group, entry.id)
                pipe.xdel(entry.stream, entry.id)
            pipe.execute()

    def ack(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        by_stream: dict[str, list[str]] = {}
        for message in messages:
            by_stream.setdefault(message.stream, []).append(message.id)
        with self._available("ack"):
            pipe = self._client.pipeline(transaction=True)
            for stream, ids in by_stream.items():
                pipe.xack(stream, self.group, *ids)
                pipe.xdel(stream, *ids)
            pipe.execute()

    def depth(self, tenant_id: str) -> int:
        stream = stream_key(tenant_id)
        with self._available("depth"):
            return int(self._client.xlen(stream))

    def backlog(self) -> int:
        with self._available("backlog"):
            streams = self._registry()
            pipe = self._client.pipeline(transaction=False)
            for stream in streams:
                pipe.xlen(stream)
            return sum(int(n) for n in pipe.execute())

    def ping(self) -> None:
        with self._available("ping"):
            self._client.ping()

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        with self._available("dead_letters"):
            items: list[tuple[bytes, dict[bytes, bytes]]] = self._client.xrange(  # type: ignore[assignment]
                DEAD_LETTER_STREAM, "-", "+", count=limit
            )
        return [decode_dead_letter(i.decode(), fields) for i, fields in items]

    def close(self) -> None:
        self._closed = True
        for client in (self._client, self._reader):
            client.close()
            client.connection_pool.disconnect()

    # -- streams and groups -------------------------------------------------------------------------

    def _tenant_streams(self) -> list[str]:
        """The tenant streams, each with our group, from the registry at most a second old.

        So a consumer sees a new tenant's stream within ``_DISCOVERY_INTERVAL_S`` (plus the
        ``block_ms`` of a read already waiting on the other streams).
        """
        now = time.monotonic()
        with self._lock:
            if now < self._streams_until:
                return self._streams
        streams = self._registry()
        with self._lock:
            fresh = [s for s in streams if s not in self._grouped]
        self._create_groups(fresh)
        with self._lock:
            self._grouped.update(fresh)
            self._streams = streams
            # An empty list is not kept: the first tenant's entries are read as soon as they exist.
            self._streams_until = now + _DISCOVERY_INTERVAL_S if streams else 0.0
        return streams

    def _registry(self) -> list[str]:
        members: set[bytes] = self._client.smembers(STREAM_REGISTRY)  # type: ignore[assignment]
        return sorted(member.decode() for member in members)

    def _create_groups(self, streams: list[str]) -> None:
        if not streams:
            return
        pipe = self._client.pipeline(transaction=False)
        for stream in streams:
            # From 0: entries published before the group existed are still delivered.
            pipe.xgroup_create(stream, self.group, id="0", mkstream=True)
        for result in pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and not str(result).startswith("BUSYGROUP"):
                raise result

    def _recreating_groups(self, streams: list[str], call: Callable[[], T]) -> T:
        try:
            return call()
        except ResponseError as exc:
            if not _no_group(exc):
                raise
        # Redis lost the group: restarted without persistence, or the key was deleted.
        self._create_groups(streams)
        return call()
