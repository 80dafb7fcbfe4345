"""traced, trace_operation and the domain decorators, against the real SDK."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from securenet.telemetry import (
    async_trace_operation,
    trace_network_scan,
    trace_operation,
    trace_threat_detection,
    traced,
)


@traced
def child() -> int:
    return trace.get_current_span().get_span_context().span_id


@traced(name="parent.sync", attributes={"component": "test"})
def parent() -> int:
    return child()


@traced
async def async_child() -> str:
    await asyncio.sleep(0)
    return "ok"


@traced(name="parent.async")
async def async_parent() -> list[str]:
    return list(await asyncio.gather(async_child(), async_child()))


@traced(name="numbers")
def numbers(n: int) -> Iterator[int]:
    for i in range(n):
        with trace_operation("numbers.item", index=i):
            yield i


@traced(name="anumbers")
async def anumbers(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        async with async_trace_operation("anumbers.item", index=i):
            yield i


def test_sync_parent_child(telemetry) -> None:
    t = telemetry()
    inner_span_id = parent()
    outer, inner = t.by_name("parent.sync"), t.by_name("child")
    assert inner.parent.span_id == outer.context.span_id
    assert inner.context.trace_id == outer.context.trace_id
    assert inner.context.span_id == inner_span_id
    assert outer.attributes["component"] == "test"
    assert outer.parent is None


def test_async_parent_children(telemetry) -> None:
    t = telemetry()
    assert asyncio.run(async_parent()) == ["ok", "ok"]
    outer = t.by_name("parent.async")
    children = [s for s in t.finished() if s.name == "async_child"]
    assert len(children) == 2
    assert all(c.parent.span_id == outer.context.span_id for c in children)


def test_generator_span_covers_iteration_and_does_not_leak(telemetry) -> None:
    t = telemetry()
    with trace_operation("consumer") as consumer:
        seen = []
        for value in numbers(3):
            # Between items the consumer's span is current, not the generator's.
            assert trace.get_current_span() is consumer
            seen.append(value)
    assert seen == [0, 1, 2]
    gen_span = t.by_name("numbers")
    items = [s for s in t.finished() if s.name == "numbers.item"]
    assert [s.attributes["index"] for s in items] == [0, 1, 2]
    assert all(s.parent.span_id == gen_span.context.span_id for s in items)
    assert gen_span.parent.span_id == t.by_name("consumer").context.span_id
    assert gen_span.end_time >= max(s.end_time for s in items)


def test_generator_closed_early_ends_span_without_error(telemetry) -> None:
    t = telemetry()
    gen = numbers(10)
    assert next(gen) == 0
    gen.close()
    assert not trace.get_current_span().is_recording()  # nothing leaked into our context
    span = t.by_name("numbers")
    assert span.status.status_code is StatusCode.UNSET


def test_async_generator(telemetry) -> None:
    t = telemetry()

    async def consume() -> list[int]:
        return [i async for i in anumbers(2)]

    assert asyncio.run(consume()) == [0, 1]
    gen_span = t.by_name("anumbers")
    items = [s for s in t.finished() if s.name == "anumbers.item"]
    assert len(items) == 2
    assert all(s.parent.span_id == gen_span.context.span_id for s in items)


class Boom(RuntimeError):
    pass


@traced
def fails() -> None:
    raise Boom("bad")


@traced
async def afails() -> None:
    raise Boom("bad")


@traced
def gen_fails() -> Iterator[int]:
    yield 1
    raise Boom("bad")


@pytest.mark.parametrize(
    "call",
    [fails, lambda: asyncio.run(afails()), lambda: list(gen_fails())],
    ids=["sync", "async", "generator"],
)
def test_exception_recorded_and_reraised(telemetry, call) -> None:
    t = telemetry()
    with pytest.raises(Boom):
        call()
    (span,) = t.finished()
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]
    assert span.events[0].attributes["exception.type"].endswith("Boom")


def test_capture_args_is_opt_in(telemetry) -> None:
    t = telemetry()

    @traced(name="plain")
    def plain(user: str, count: int) -> None:
        return None

    @traced(name="captured", capture_args=["count"])
    def captured(user: str, count: int, blob: object = None) -> None:
        return None

    @traced(name="all", capture_args=True)
    def everything(user: str, count: int, blob: object = None) -> None:
        return None

    plain("alice", 1)
    captured("alice", 2, blob=object())
    everything("alice", 3, blob=object())
    assert not any(k.startswith("arg.") for k in t.by_name("plain").attributes)
    assert dict(t.by_name("captured").attributes) == {"arg.count": 2}
    assert dict(t.by_name("all").attributes) == {"arg.user": "alice", "arg.count": 3}


def test_trace_threat_detection_attributes(telemetry) -> None:
    t = telemetry()

    @trace_threat_detection("score_batch")
    async def detect(flows: list[int], tenant_id: str) -> dict[str, object]:
        return {"threat_count": 2, "severity": "high"}

    asyncio.run(detect([1, 2], tenant_id="acme"))
    span = t.by_name("threat_detection.score_batch")
    assert span.attributes["operation.name"] == "score_batch"
    assert span.attributes["operation.type"] == "threat_detection"
    assert span.attributes["tenant.id"] == "acme"
    assert span.attributes["threats.detected"] == 2
    assert span.attributes["threats.max_severity"] == "high"
    assert not any("duration" in k for k in span.attributes)


def test_trace_network_scan_attributes(telemetry) -> None:
    t = telemetry()

    @trace_network_scan("port_scan")
    def scan(*, target: str, port_range: str) -> dict[str, object]:
        return {"hosts_found": 3, "vulnerabilities": ["a", "b"]}

    scan(target="127.0.0.0/29", port_range="1-1024")
    span = t.by_name("network_scan.port_scan")
    assert span.attributes["scan.type"] == "port_scan"
    assert span.attributes["scan.target"] == "127.0.0.0/29"
    assert span.attributes["scan.target_type"] == "network"
    assert span.attributes["scan.port_range"] == "1-1024"
    assert span.attributes["scan.hosts_found"] == 3
    assert span.attributes["scan.vulnerabilities_found"] == 2


def test_trace_operation_drops_none_and_accepts_dotted_keys(telemetry) -> None:
    t = telemetry()
    with trace_operation("op", **{"tenant.id": "t1"}, missing=None) as span:
        assert span.is_recording()
    assert dict(t.by_name("op").attributes) == {"tenant.id": "t1"}


def test_helpers_before_setup_are_harmless() -> None:
    # No setup: the API's proxy objects are used and nothing is recorded.
    assert parent() == trace.INVALID_SPAN_ID
    with trace_operation("nothing") as span:
        assert not span.is_recording()
