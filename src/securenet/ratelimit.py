"""Per-tenant request limits: fixed one-minute windows, in process or shared through Redis.

With Redis every API replica counts against the same window. If Redis cannot be
reached the request is allowed and the failure is logged and counted: a rate limit
protects the service, it must not take it down.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Protocol

import structlog

__all__ = ["InProcessRateLimiter", "RateLimiter", "RedisRateLimiter"]

WINDOW_S = 60.0
log = structlog.get_logger("securenet.api")  # it limits API requests


class RateLimiter(Protocol):
    def hit(self, tenant_id: str, limit: int) -> tuple[bool, float]:
        """Count one request; returns (allowed, seconds until the window resets)."""
        ...


class InProcessRateLimiter:
    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, tenant_id: str, limit: int) -> tuple[bool, float]:
        now = self._clock()
        window = math.floor(now / WINDOW_S)
        with self._lock:
            current, count = self._windows.get(tenant_id, (window, 0))
            if current != window:
                count = 0
            count += 1
            self._windows[tenant_id] = (window, count)
        return count <= limit, (window + 1) * WINDOW_S - now


class RedisRateLimiter:
    def __init__(self, client: Any, clock: Any = time.time) -> None:
        self._client = client
        self._clock = clock
        self.failures = 0

    def hit(self, tenant_id: str, limit: int) -> tuple[bool, float]:
        import redis

        now = self._clock()
        window = math.floor(now / WINDOW_S)
        key = f"securenet:ratelimit:{tenant_id}:{window}"
        try:
            pipe = self._client.pipeline()
            pipe.incr(key)
            pipe.expire(key, int(WINDOW_S * 2))
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            self.failures += 1
            log.warning("rate limiter unavailable; request allowed", error_type=type(exc).__name__)
            return True, 0.0
        return int(count) <= limit, (window + 1) * WINDOW_S - now
