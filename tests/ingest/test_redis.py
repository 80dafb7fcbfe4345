"""What only Redis can do: go away, come back empty, and hold credentials in its URL."""

from __future__ import annotations

import time

import pytest

from securenet.ingest import QueueUnavailableError, RedisStreamQueue
from tests.ingest.test_queue import FLOWS
from tests.servers import RedisServer


def test_publish_fails_fast_while_redis_is_down_and_recovers(redis_server: RedisServer, redis_url: str) -> None:
    with RedisStreamQueue(redis_url, timeout_s=2) as queue:
        queue.publish("acme", FLOWS)
        (delivered,) = queue.consume("w1", 10, 0)
        redis_server.stop()
        try:
            start = time.monotonic()
            with pytest.raises(QueueUnavailableError, match="unavailable") as raised:
                queue.publish("acme", FLOWS)
            assert time.monotonic() - start < 2
            assert raised.value.retry_after_s > 0
            for call in (
                lambda: queue.consume("w1", 10, 1000),
                lambda: queue.claim_stale("w1", 0, 10),
                lambda: queue.ack([delivered]),
                lambda: queue.depth("acme"),
                queue.backlog,
                queue.ping,
            ):
                with pytest.raises(QueueUnavailableError):
                    call()
        finally:
            redis_server.start()
        # The same queue object reconnects; the server kept nothing (no persistence).
        (entry_id,) = queue.publish("acme", FLOWS)
        assert [m.id for m in queue.consume("w1", 10, 0)] == [entry_id]


def test_consumers_recreate_groups_redis_lost(redis_server: RedisServer, redis_url: str) -> None:
    with RedisStreamQueue(redis_url) as queue:
        queue.publish("acme", FLOWS)
        queue.publish("globex", FLOWS)
        queue.ack(queue.consume("w1", 10, 0))  # the consumer now knows both streams and their group
        redis_server.stop()
        redis_server.start()
        (entry_id,) = queue.publish("acme", FLOWS)
        # globex (still in the consumer's stream list) has neither key nor group any more.
        assert [m.id for m in queue.consume("w1", 10, 0)] == [entry_id]


def test_credentials_never_appear_in_repr_or_errors() -> None:
    with RedisStreamQueue("redis://worker:s3cret@127.0.0.1:1/0", timeout_s=1) as queue:
        assert "s3cret" not in repr(queue)
        assert "127.0.0.1:1" in repr(queue)
        with pytest.raises(QueueUnavailableError) as raised:
            queue.publish("acme", FLOWS)
        assert "s3cret" not in str(raised.value)
