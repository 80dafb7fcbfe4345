"""The durable real-time ingest queue: tenants' flow batches from the API to the workers.

The API ``publish``es a batch of flow records per tenant; workers ``consume`` new entries
in one consumer group, process them inside ``process_span(batch)``, commit their results
idempotently and ``ack``. ``claim_stale`` takes over entries of workers that died.
``RedisStreamQueue`` is the durable implementation; ``InProcessQueue`` has the same
semantics inside one process, for when no Redis is configured.
"""

from securenet.ingest._backoff import Backoff
from securenet.ingest._inprocess import InProcessQueue
from securenet.ingest._model import (
    DEAD_LETTER_STREAM,
    DEFAULT_GROUP,
    STREAM_PREFIX,
    DeadLetter,
    FlowQueue,
    Message,
    QueueError,
    QueueFullError,
    QueueUnavailableError,
    stream_key,
)
from securenet.ingest._redis import RedisStreamQueue
from securenet.ingest._tracing import process_span

__all__ = [
    "DEAD_LETTER_STREAM",
    "DEFAULT_GROUP",
    "STREAM_PREFIX",
    "Backoff",
    "DeadLetter",
    "FlowQueue",
    "InProcessQueue",
    "Message",
    "QueueError",
    "QueueFullError",
    "QueueUnavailableError",
    "RedisStreamQueue",
    "process_span",
    "stream_key",
]
