"""The ``FlowQueue`` contract, run against ``InProcessQueue`` and a real Redis alike."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest

from securenet.ingest import QueueFullError, QueueUnavailableError
from tests.ingest.conftest import Backend, Queue

FLOWS = [{"orig_h": "10.0.0.1", "resp_h": "10.0.0.2", "resp_p": 443, "bytes": 1200}]


def flows(n: int, tag: str = "f") -> list[dict[str, Any]]:
    return [{"id": f"{tag}{i}", "resp_p": i} for i in range(n)]


def drain(queue: Queue, consumer: str = "w1", count: int = 100) -> list[Any]:
    got: list[Any] = []
    while batch := queue.consume(consumer, count, 0):
        got.extend(batch)
    return got


def test_publish_consume_ack_round_trip(queue: Queue) -> None:
    ids = queue.publish("acme", FLOWS)
    assert len(ids) == 1
    assert queue.depth("acme") == 1

    (message,) = queue.consume("w1", 10, 0)
    assert message.id == ids[0]
    assert message.stream == "securenet:flows:acme"
    assert message.tenant_id == "acme"
    assert message.records == FLOWS
    assert message.delivery_count == 1
    assert abs(message.published_at - time.time()) < 60
    assert queue.depth("acme") == 1, "delivered but unacknowledged entries still count"

    queue.ack([message])
    assert queue.depth("acme") == 0
    assert queue.backlog() == 0
    assert queue.consume("w1", 10, 0) == []
    assert queue.claim_stale("w2", 0, 10) == [], "an acknowledged entry is never delivered again"


def test_ids_increase_and_records_are_copied(queue: Queue) -> None:
    records = flows(1)
    first = queue.publish("acme", records)[0]
    records[0]["resp_p"] = 9999
    second = queue.publish("acme", records)[0]
    assert tuple(map(int, first.split("-"))) < tuple(map(int, second.split("-")))
    got = drain(queue)
    assert [m.records[0]["resp_p"] for m in got] == [0, 9999]


def test_a_large_batch_becomes_several_entries_in_order(backend: Backend) -> None:
    queue = backend.make(max_entry_records=2)
    ids = queue.publish("acme", flows(5))
    assert len(ids) == 3
    got = drain(queue)
    assert [m.id for m in got] == ids
    assert [r["id"] for m in got for r in m.records] == ["f0", "f1", "f2", "f3", "f4"]


def test_empty_batch_publishes_nothing(queue: Queue) -> None:
    assert queue.publish("acme", []) == []
    assert queue.depth("acme") == 0


def test_tenants_are_isolated(backend: Backend) -> None:
    queue = backend.make(max_len=2)
    queue.publish("acme", flows(1, "a"))
    queue.publish("acme", flows(1, "a"))
    with pytest.raises(QueueFullError):
        queue.publish("acme", flows(1, "a"))
    queue.publish("globex", flows(1, "g"))  # acme's full stream does not block globex
    assert (queue.depth("acme"), queue.depth("globex"), queue.depth("initech")) == (2, 1, 0)
    assert queue.backlog() == 3

    got = drain(queue)
    assert sorted((m.tenant_id, m.records[0]["id"][0]) for m in got) == [("acme", "a"), ("acme", "a"), ("globex", "g")]
    queue.ack([m for m in got if m.tenant_id == "globex"])
    assert (queue.depth("acme"), queue.depth("globex")) == (2, 0)


def test_full_stream_refuses_and_drops_nothing(backend: Backend) -> None:
    queue = backend.make(max_len=3, retry_after_s=2.5)
    ids = [queue.publish("acme", flows(1, f"m{i}-"))[0] for i in range(3)]
    with pytest.raises(QueueFullError) as raised:
        queue.publish("acme", flows(1, "late"))
    assert raised.value.retry_after_s == 2.5
    assert raised.value.tenant_id == "acme"
    assert raised.value.depth == 3
    assert queue.depth("acme") == 3

    got = queue.consume("w1", 10, 0)
    assert [m.id for m in got] == ids, "the oldest entries are all still there"
    with pytest.raises(QueueFullError):
        queue.publish("acme", flows(1)), "in-flight entries still count until acknowledged"
    queue.ack(got[:1])
    queue.publish("acme", flows(1))


def test_a_batch_that_does_not_fit_is_refused_whole(backend: Backend) -> None:
    queue = backend.make(max_len=3, max_entry_records=1)
    queue.publish("acme", flows(2))
    with pytest.raises(QueueFullError):
        queue.publish("acme", flows(2))
    assert queue.depth("acme") == 2
    with pytest.raises(ValueError, match="more than max_len"):
        queue.publish("acme", flows(4))


def test_concurrent_publishers_never_exceed_max_len(backend: Backend) -> None:
    queue = backend.make(max_len=25)
    accepted: list[str] = []
    refused = 0
    lock = threading.Lock()

    def publisher(n: int) -> None:
        nonlocal refused
        for i in range(10):
            try:
                ids = queue.publish("acme", flows(1, f"{n}-{i}-"))
            except QueueFullError:
                with lock:
                    refused += 1
            else:
                with lock:
                    accepted.extend(ids)

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(accepted), refused) == (25, 35)
    assert sorted(m.id for m in drain(queue)) == sorted(accepted)


def test_consume_caps_the_total_and_shares_it_between_tenants(queue: Queue) -> None:
    for tenant in ("acme", "globex", "initech"):
        for _ in range(5):
            queue.publish(tenant, flows(1, tenant))
    first = queue.consume("w1", 4, 0)
    assert len(first) == 4
    assert len({m.tenant_id for m in first}) >= 2, "one tenant does not take the whole batch"
    rest = drain(queue, count=4)
    ids = [(m.stream, m.id) for m in first + rest]  # ids are unique per stream
    assert len(ids) == 15
    assert len(set(ids)) == 15, "every entry is delivered exactly once"


def test_consume_uses_the_whole_count_when_one_tenant_has_the_backlog(queue: Queue) -> None:
    queue.publish("globex", flows(1))
    for _ in range(20):
        queue.publish("acme", flows(1))
    assert len(queue.consume("w1", 10, 0)) == 10


def test_consumers_of_the_group_share_entries(queue: Queue) -> None:
    for _ in range(4):
        queue.publish("acme", flows(1))
    a = queue.consume("w1", 2, 0)
    b = queue.consume("w2", 10, 0)
    assert len(a) == 2 and len(b) == 2
    assert not {m.id for m in a} & {m.id for m in b}


def test_consume_waits_for_a_publish(queue: Queue) -> None:
    queue.publish("acme", flows(1))
    queue.ack(queue.consume("w1", 10, 0))
    timer = threading.Timer(0.2, queue.publish, ("acme", flows(1, "late")))
    timer.start()
    try:
        start = time.monotonic()
        got = queue.consume("w1", 10, 5000)
        elapsed = time.monotonic() - start
    finally:
        timer.join()
    assert [m.records[0]["id"] for m in got] == ["late0"]
    assert 0.1 < elapsed < 3


def test_consume_returns_nothing_after_block_ms(queue: Queue) -> None:
    queue.publish("acme", flows(1))
    queue.ack(queue.consume("w1", 10, 0))
    start = time.monotonic()
    assert queue.consume("w1", 10, 200) == []
    assert 0.15 < time.monotonic() - start < 3


def test_stale_entries_of_a_dead_consumer_are_reclaimed(queue: Queue) -> None:
    for i in range(3):
        queue.publish("acme", flows(1, f"m{i}-"))
    taken = queue.consume("dead", 3, 0)
    queue.ack(taken[:1])  # it finished one, then died

    assert queue.claim_stale("alive", 300, 10) == [], "not idle long enough yet"
    time.sleep(0.35)
    claimed = queue.claim_stale("alive", 300, 10)
    assert [m.id for m in claimed] == [m.id for m in taken[1:]]
    assert [m.delivery_count for m in claimed] == [2, 2]
    assert claimed[0].records == taken[1].records
    assert queue.consume("alive", 10, 0) == [], "claiming is not consuming new entries"

    queue.ack(claimed)
    time.sleep(0.35)
    assert queue.claim_stale("other", 300, 10) == [], "acknowledged entries are never redelivered"
    assert queue.depth("acme") == 0


def test_claim_stale_respects_count_and_restarts_idle_time(queue: Queue) -> None:
    for _ in range(3):
        queue.publish("acme", flows(1))
    queue.consume("dead", 3, 0)
    time.sleep(0.15)
    assert len(queue.claim_stale("a", 100, 2)) == 2
    assert len(queue.claim_stale("b", 100, 10)) == 1, "claimed entries are fresh again for b"


def test_entries_never_acknowledged_end_as_dead_letters(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    queue = backend.make(max_deliveries=2)
    (entry_id,) = queue.publish("acme", flows(1))
    assert len(queue.consume("w1", 1, 0)) == 1
    assert [m.delivery_count for m in queue.claim_stale("w2", 0, 10)] == [2]
    with caplog.at_level(logging.ERROR, logger="securenet.ingest"):
        assert queue.claim_stale("w3", 0, 10) == []
    (dead,) = queue.dead_letters()
    assert (dead.message_id, dead.stream, dead.tenant_id) == (entry_id, "securenet:flows:acme", "acme")
    assert dead.delivery_count == 3
    assert "2 deliveries" in dead.error
    assert json.loads(dead.fields[b"records"]) == flows(1)
    assert queue.depth("acme") == 0
    assert any(entry_id in r.getMessage() for r in caplog.records)


def test_a_failure_on_the_last_delivery_is_dead_lettered_with_its_reason(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    queue = backend.make(max_deliveries=2)
    (entry_id,) = queue.publish("acme", flows(1))
    (first,) = queue.consume("w1", 1, 0)
    queue.reject([(first, "ValueError: first try")])
    assert queue.dead_letters() == [], "deliveries are left: it stays pending"
    assert queue.depth("acme") == 1
    (second,) = queue.claim_stale("w2", 0, 10)
    assert second.delivery_count == 2
    with caplog.at_level(logging.ERROR, logger="securenet.ingest"):
        queue.reject([(second, "FileNotFoundError: No such file or directory (x.model)")])
    (dead,) = queue.dead_letters()
    assert (dead.message_id, dead.tenant_id, dead.delivery_count) == (entry_id, "acme", 2)
    assert dead.error == "FileNotFoundError: No such file or directory (x.model)"
    assert json.loads(dead.fields[b"records"]) == flows(1), "the entry is kept as published"
    assert queue.depth("acme") == 0
    time.sleep(0.05)
    assert queue.claim_stale("w3", 0, 10) == [], "it is never delivered again"
    dead_lettered = [r for r in caplog.records if r.name == "securenet.ingest" and entry_id in r.getMessage()]
    assert len(dead_lettered) == 1, "logged once"


POISON = {
    "not json": {b"tenant": b"acme", b"records": b"{not json", b"published_at": b"1.0"},
    "not a list": {b"tenant": b"acme", b"records": b'{"a": 1}', b"published_at": b"1.0"},
    "not objects": {b"tenant": b"acme", b"records": b"[1, 2]", b"published_at": b"1.0"},
    "missing records": {b"tenant": b"acme", b"published_at": b"1.0"},
    "other tenant": {b"tenant": b"globex", b"records": b"[]", b"published_at": b"1.0"},
    "bad timestamp": {b"tenant": b"acme", b"records": b"[]", b"published_at": b"yesterday"},
    "not utf-8": {b"tenant": b"\xff", b"records": b"[]", b"published_at": b"1.0"},
    "deeply nested": {b"tenant": b"acme", b"records": b"[" * 100_000 + b"]" * 100_000, b"published_at": b"1.0"},
}


@pytest.mark.parametrize("fields", POISON.values(), ids=POISON.keys())
def test_undecodable_entries_are_dead_lettered_and_acked(
    backend: Backend, fields: dict[bytes, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    queue = backend.make()
    before = queue.publish("acme", flows(1, "good"))[0]
    poison_id = backend.inject_raw(queue, "acme", fields)
    after = queue.publish("acme", flows(1, "good"))[0]

    with caplog.at_level(logging.ERROR, logger="securenet.ingest"):
        got = queue.consume("w1", 10, 0)
    assert [m.id for m in got] == [before, after], "the worker gets the good entries and does not crash"
    (dead,) = queue.dead_letters()
    assert dead.message_id == poison_id
    assert dead.fields == fields, "the entry is kept untouched"
    assert dead.error
    assert queue.depth("acme") == 2, "the poison entry was acknowledged and deleted"
    time.sleep(0.05)
    assert [m.id for m in queue.claim_stale("w2", 0, 10)] == [before, after], "only the good entries are pending"
    assert any(poison_id in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("tenant", ["", "dead", "streams", "a:b", "a*", "-x", "x" * 129, "ü"])
def test_unsafe_tenant_ids_are_refused(queue: Queue, tenant: str) -> None:
    with pytest.raises(ValueError, match="invalid tenant id"):
        queue.publish(tenant, flows(1))
    with pytest.raises(ValueError, match="invalid tenant id"):
        queue.depth(tenant)


def test_unserialisable_records_publish_nothing(queue: Queue) -> None:
    with pytest.raises(TypeError):
        queue.publish("acme", [{"when": object()}])
    assert queue.depth("acme") == 0


@pytest.mark.parametrize(("consumer", "count", "block_ms"), [("", 1, 0), ("w", 0, 0), ("w", 1, -1), ("w", 1, 60_001)])
def test_consume_arguments_are_checked(queue: Queue, consumer: str, count: int, block_ms: int) -> None:
    with pytest.raises(ValueError):
        queue.consume(consumer, count, block_ms)


def test_acking_nothing_or_twice_is_harmless(queue: Queue) -> None:
    queue.ack([])
    queue.publish("acme", flows(1))
    got = queue.consume("w1", 1, 0)
    queue.ack(got)
    queue.ack(got)
    assert queue.depth("acme") == 0


def test_a_closed_queue_is_unavailable(backend: Backend) -> None:
    queue = backend.make()
    queue.ping()
    queue.close()
    for call in (
        lambda: queue.publish("acme", flows(1)),
        lambda: queue.consume("w1", 1, 0),
        lambda: queue.claim_stale("w1", 0, 1),
        lambda: queue.depth("acme"),
        queue.backlog,
        queue.ping,
    ):
        with pytest.raises(QueueUnavailableError):
            call()
