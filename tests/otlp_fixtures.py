"""Pytest fixtures for the in-process OTLP receiver (see ``otlp_receiver.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.otlp_receiver import OtlpReceiver


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A running :class:`OtlpReceiver` (gRPC + HTTP on loopback), stopped after the test."""
    receiver = OtlpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
