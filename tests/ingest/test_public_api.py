"""The package's public names come from its private modules; both queues against the protocol."""

from __future__ import annotations

import pytest

import securenet.ingest as ingest
from securenet.ingest import Backoff, FlowQueue
from tests.ingest.conftest import Backend


def test_public_names_come_from_private_modules() -> None:
    """The surface itself is listed in tests/test_public_api.py."""
    for name in ingest.__all__:
        value = getattr(ingest, name)
        assert isinstance(value, str) or value.__module__.startswith("securenet.ingest._")


def test_both_queues_are_flow_queues(backend: Backend) -> None:
    assert isinstance(backend.make(), FlowQueue)


def test_backoff_grows_to_its_cap_with_jitter_and_resets() -> None:
    backoff = Backoff(base_s=0.1, cap_s=1.0)
    delays = [backoff.delay() for _ in range(8)]
    for n, delay in enumerate(delays):
        ceiling = min(1.0, 0.1 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.delay() <= 0.1
    with pytest.raises(ValueError):
        Backoff(base_s=0)
