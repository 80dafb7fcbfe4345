"""How long a worker waits before retrying a queue that raised ``QueueUnavailableError``."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Exponential backoff with jitter, so workers of a fleet do not retry in step.

    ``delay()`` returns the next wait, between half and all of ``min(cap_s, base_s * 2**failures)``
    (never near zero, so a loop around a dead backend cannot spin);
    ``reset()`` after a call succeeds. A worker loop::

        backoff = Backoff()
        while running:
            try:
                batch = queue.consume(name, count=100, block_ms=2000)
            except QueueUnavailableError:
                stop.wait(backoff.delay())
                continue
            backoff.reset()
    """

    __slots__ = ("_failures", "base_s", "cap_s")

    def __init__(self, base_s: float = 0.1, cap_s: float = 10.0) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError("Backoff needs 0 < base_s <= cap_s")
        self.base_s = base_s
        self.cap_s = cap_s
        self._failures = 0

    def delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * 2 ** min(self._failures, 32))
        self._failures += 1
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret

    def reset(self) -> None:
        self._failures = 0
