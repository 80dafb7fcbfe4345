"""Messaging spans after OpenTelemetry's messaging semantic conventions.

* ``publish`` opens a PRODUCER span ``send {stream}`` and injects *its* context into the
  entry, so each message's creation context is the send span.
* ``consume``/``claim_stale`` record a CLIENT span ``receive {stream}``/``claim {stream}``
  covering the read, only when it returned messages (empty polls would be pure noise).
* ``process_span`` is the CONSUMER span ``process {stream}`` around a worker's batch
  (``process securenet:flows`` when the batch spans several tenants' streams). It links to
  every distinct producer context, up to ``MAX_LINKS``. A batch of one message is also
  *parented* to its producer, so API request and worker share one trace; a batch of many
  keeps the worker's current context as parent and relies on the links alone.

``messaging.system`` is ``redis`` for Redis streams and ``securenet_inprocess`` for the
in-process queue (a value of our own: semconv has none for an in-memory queue).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util.types import AttributeValue

from securenet.ingest._model import STREAM_PREFIX, Message
from securenet.telemetry import get_tracer

__all__ = ["MAX_LINKS", "SYSTEM_INPROCESS", "SYSTEM_REDIS", "SendSpan", "process_span", "record_receive", "send_span"]

SYSTEM_REDIS = "redis"
SYSTEM_INPROCESS = "securenet_inprocess"
#: Links per span; the SDK's default span link limit (OTEL_SPAN_LINK_COUNT_LIMIT) is also 128.
MAX_LINKS = 128
#: The destination named in spans of batches that mix several tenants' streams.
ALL_STREAMS = STREAM_PREFIX.rstrip(":")
_SCOPE = "securenet.ingest"


class SendSpan:
    """The PRODUCER span of one ``publish``; ``carrier`` holds its propagation headers."""

    __slots__ = ("carrier", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.carrier: dict[str, str] = {}

    def sent(self, ids: Sequence[str]) -> None:
        if len(ids) == 1:
            self.span.set_attribute("messaging.message.id", ids[0])
        else:
            self.span.set_attribute("messaging.batch.message_count", len(ids))


@contextmanager
def send_span(system: str, stream: str, tenant_id: str, record_count: int) -> Iterator[SendSpan]:
    attributes: dict[str, AttributeValue] = {
        "messaging.system": system,
        "messaging.destination.name": stream,
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "tenant.id": tenant_id,
        "securenet.ingest.record_count": record_count,
    }
    tracer = get_tracer(_SCOPE)
    with tracer.start_as_current_span(f"send {stream}", kind=SpanKind.PRODUCER, attributes=attributes) as span:
        send = SendSpan(span)
        propagate.inject(send.carrier)
        try:
            yield send
        except Exception as exc:
            span.set_attribute("error.type", type(exc).__qualname__)
            raise


def _producer_links(messages: Sequence[Message]) -> tuple[list[Link], int]:
    """One link per distinct producer span context, at most ``MAX_LINKS``; and how many were left out."""
    seen: set[tuple[int, int]] = set()
    links: list[Link] = []
    dropped = 0
    parsed: set[tuple[tuple[str, str], ...]] = set()
    for message in messages:
        if not message.carrier:
            continue
        raw = tuple(sorted(message.carrier.items()))
        if raw in parsed:  # the same producer's entries (a chunked batch) need parsing once
            continue
        parsed.add(raw)
        context = trace.get_current_span(propagate.extract(message.carrier)).get_span_context()
        key = (context.trace_id, context.span_id)
        if not context.is_valid or key in seen:
            continue
        seen.add(key)
        if len(links) < MAX_LINKS:
            links.append(Link(context))
        else:
            dropped += 1
    return links, dropped


def _batch_attributes(
    messages: Sequence[Message], operation_type: str, operation_name: str
) -> tuple[str, dict[str, Any]]:
    streams = {m.stream for m in messages}
    destination = next(iter(streams)) if len(streams) == 1 else ALL_STREAMS
    attributes: dict[str, Any] = {
        "messaging.operation.type": operation_type,
        "messaging.operation.name": operation_name,
    }
    # A queue stamps what it delivers with its system and group.
    if messages and messages[0].system:
        attributes["messaging.system"] = messages[0].system
    if messages and messages[0].group:
        attributes["messaging.consumer.group.name"] = messages[0].group
    attributes.update(
        {
            "messaging.batch.message_count": len(messages),
            "securenet.ingest.record_count": sum(len(m.records) for m in messages),
        }
    )
    if len(streams) == 1:
        attributes["messaging.destination.name"] = destination
        attributes["tenant.id"] = messages[0].tenant_id
    if len(messages) == 1:
        attributes["messaging.message.id"] = messages[0].id
    return f"{operation_name} {destination}", attributes


@contextmanager
def process_span(messages: Sequence[Message]) -> Iterator[Any]:
    """``with process_span(batch) as span:`` - the CONSUMER span of processing a batch a queue delivered.

    Linked to each distinct producer (``send``) span, at most ``MAX_LINKS``
    (``securenet.ingest.links_dropped`` counts the rest); a batch of one message is also
    parented to its producer. An exception is recorded, with ``error.type``, and propagates.
    """
    name, attributes = _batch_attributes(messages, "process", "process")
    links, dropped = _producer_links(messages)
    if dropped:
        attributes["securenet.ingest.links_dropped"] = dropped
    parent = propagate.extract(messages[0].carrier) if len(messages) == 1 and links else None
    tracer = get_tracer(_SCOPE)
    with tracer.start_as_current_span(
        name, context=parent, kind=SpanKind.CONSUMER, links=links, attributes=attributes
    ) as span:
        try:
            yield span
        except Exception as exc:
            span.set_attribute("error.type", type(exc).__qualname__)
            raise


def record_receive(messages: Sequence[Message], *, operation_name: str, start_ns: int) -> None:
    """A finished CLIENT span for a read that returned ``messages`` and began at ``start_ns``."""
    if not messages:
        return
    name, attributes = _batch_attributes(messages, "receive", operation_name)
    links, dropped = _producer_links(messages)
    if dropped:
        attributes["securenet.ingest.links_dropped"] = dropped
    span = get_tracer(_SCOPE).start_span(
        name, kind=SpanKind.CLIENT, links=links, attributes=attributes, start_time=start_ns
    )
    span.end()
