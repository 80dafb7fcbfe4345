"""Messaging spans: the CONSUMER side links to (and for one message continues) the PRODUCER's trace."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from securenet.ingest import _tracing, process_span
from tests.ingest.conftest import Backend, Queue
from tests.ingest.test_queue import FLOWS


def ids(context: Any) -> tuple[int, int]:
    return context.trace_id, context.span_id


def spans(t: Any, kind: SpanKind, prefix: str) -> list[Any]:
    return [s for s in t.finished() if s.kind is kind and s.name.startswith(prefix)]


@pytest.mark.parametrize("propagators", ["tracecontext", "b3multi"])
def test_a_message_continues_its_producers_trace(telemetry: Any, queue: Queue, propagators: str) -> None:
    t = telemetry(OTEL_PROPAGATORS=propagators)
    (entry_id,) = queue.publish("acme", FLOWS)
    (message,) = queue.consume("w1", 10, 0)
    with process_span([message]) as span:
        assert span.is_recording()

    send = t.by_name("send securenet:flows:acme")
    assert send.kind is SpanKind.PRODUCER
    assert send.attributes["messaging.system"] == queue.system
    assert send.attributes["messaging.destination.name"] == "securenet:flows:acme"
    assert send.attributes["messaging.operation.type"] == "send"
    assert send.attributes["messaging.operation.name"] == "send"
    assert send.attributes["messaging.message.id"] == entry_id
    assert send.attributes["tenant.id"] == "acme"
    if propagators == "tracecontext":
        assert message.carrier["traceparent"].startswith(
            f"00-{send.context.trace_id:032x}-{send.context.span_id:016x}-"
        )
    else:
        assert message.carrier["x-b3-spanid"] == f"{send.context.span_id:016x}"

    process = t.by_name("process securenet:flows:acme")
    assert process.kind is SpanKind.CONSUMER
    assert ids(process.parent) == ids(send.context), "one message: the consumer continues the producer's trace"
    assert [ids(link.context) for link in process.links] == [ids(send.context)]
    assert process.attributes == {
        "messaging.system": queue.system,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.consumer.group.name": "securenet-workers",
        "messaging.destination.name": "securenet:flows:acme",
        "messaging.batch.message_count": 1,
        "messaging.message.id": entry_id,
        "securenet.ingest.record_count": 1,
        "tenant.id": "acme",
    }


def test_a_mixed_batch_links_each_producer_once(telemetry: Any, backend: Backend) -> None:
    t = telemetry()
    queue = backend.make(max_entry_records=1)
    queue.publish("acme", FLOWS)
    queue.publish("globex", FLOWS * 3)  # one producer, three entries
    queue.publish("acme", FLOWS)
    batch = queue.consume("w1", 10, 0)
    assert len(batch) == 5
    with process_span(batch):
        pass

    producers = {ids(s.context) for s in spans(t, SpanKind.PRODUCER, "send ")}
    assert len(producers) == 3
    process = t.by_name("process securenet:flows")
    assert process.kind is SpanKind.CONSUMER
    assert process.parent is None, "many producers: links only, the worker's context stays the parent"
    assert sorted(ids(link.context) for link in process.links) == sorted(producers)
    assert process.attributes["messaging.batch.message_count"] == 5
    assert process.attributes["securenet.ingest.record_count"] == 5
    assert "messaging.destination.name" not in process.attributes
    assert "messaging.message.id" not in process.attributes
    assert "tenant.id" not in process.attributes


def test_links_are_capped(telemetry: Any, queue: Queue, monkeypatch: pytest.MonkeyPatch) -> None:
    t = telemetry()
    monkeypatch.setattr(_tracing, "MAX_LINKS", 2)
    for _ in range(5):
        queue.publish("acme", FLOWS)
    with process_span(queue.consume("w1", 10, 0)):
        pass
    process = t.by_name("process securenet:flows:acme")
    assert len(process.links) == 2
    assert process.attributes["securenet.ingest.links_dropped"] == 3


def test_reads_that_return_messages_are_receive_spans(telemetry: Any, queue: Queue) -> None:
    t = telemetry()
    assert queue.consume("w1", 10, 0) == []
    queue.publish("acme", FLOWS)
    queue.consume("dead", 10, 0)
    queue.claim_stale("w2", 0, 10)
    send = t.by_name("send securenet:flows:acme")

    for name, operation in (("receive securenet:flows:acme", "receive"), ("claim securenet:flows:acme", "claim")):
        span = t.by_name(name)
        assert span.kind is SpanKind.CLIENT
        assert span.attributes["messaging.operation.type"] == "receive"
        assert span.attributes["messaging.operation.name"] == operation
        assert [ids(link.context) for link in span.links] == [ids(send.context)]
    assert len(spans(t, SpanKind.CLIENT, "receive ")) == 1, "an empty poll leaves no span"


def test_a_failed_batch_records_the_error(telemetry: Any, queue: Queue) -> None:
    t = telemetry()
    queue.publish("acme", FLOWS)
    batch = queue.consume("w1", 10, 0)
    with pytest.raises(ZeroDivisionError), process_span(batch):
        _ = 1 / 0
    process = t.by_name("process securenet:flows:acme")
    assert process.status.status_code is StatusCode.ERROR
    assert process.attributes["error.type"] == "ZeroDivisionError"


def test_a_full_stream_is_an_error_on_the_send_span(telemetry: Any, backend: Backend) -> None:
    t = telemetry()
    queue = backend.make(max_len=1)
    queue.publish("acme", FLOWS)
    with pytest.raises(Exception, match="full"):
        queue.publish("acme", FLOWS)
    failed = [s for s in spans(t, SpanKind.PRODUCER, "send ") if s.status.status_code is StatusCode.ERROR]
    assert [s.attributes["error.type"] for s in failed] == ["QueueFullError"]


def test_without_telemetry_nothing_is_propagated_and_nothing_breaks(queue: Queue) -> None:
    queue.publish("acme", FLOWS)
    batch = queue.consume("w1", 10, 0)
    assert batch[0].carrier == {}
    with process_span(batch):
        pass
    with process_span([]):
        pass
