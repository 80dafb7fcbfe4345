"""The queue fixtures: every behavioural test runs against both ``FlowQueue`` implementations.

``backend`` is parametrized over ``inprocess`` and ``redis``; the Redis case uses the shared
real ``redis-server`` (tests/server_fixtures.py: skipped without the binary, failed under CI=true).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from securenet.ingest import DEFAULT_GROUP, InProcessQueue, RedisStreamQueue, stream_key
from securenet.ingest._model import STREAM_REGISTRY
from tests.server_fixtures import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]

Queue = InProcessQueue | RedisStreamQueue


@dataclass
class Backend:
    """Builds queues of one implementation and closes them after the test."""

    name: str
    url: str | None = None
    opened: list[Queue] = field(default_factory=list)

    def make(self, **kwargs: Any) -> Queue:
        queue: Queue = InProcessQueue(**kwargs) if self.url is None else RedisStreamQueue(self.url, **kwargs)
        self.opened.append(queue)
        return queue

    def inject_raw(self, queue: Queue, tenant_id: str, fields: Mapping[bytes, bytes]) -> str:
        """Add an entry as a foreign or buggy writer might, bypassing ``publish``."""
        if isinstance(queue, InProcessQueue):
            return queue._append_raw(tenant_id, fields)
        stream = stream_key(tenant_id)
        with redis_client(self.url or "") as client:
            if not client.exists(stream):
                client.xgroup_create(stream, DEFAULT_GROUP, id="0", mkstream=True)
            client.sadd(STREAM_REGISTRY, stream)
            return client.xadd(stream, dict(fields)).decode()  # type: ignore[arg-type]

    def close(self) -> None:
        for queue in self.opened:
            queue.close()


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), socket_timeout=5)


@pytest.fixture(params=["inprocess", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    made = Backend(request.param, url)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def queue(backend: Backend) -> Queue:
    return backend.make()
