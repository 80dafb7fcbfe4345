"""Stand-ins used only when the OpenTelemetry API is not importable.

They implement the small part of the API that SecureNet calls, and do nothing.
When OpenTelemetry is installed but disabled, the API's own no-op objects are used instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["METER", "SPAN", "TRACER", "NoopInstrument", "NoopMeter", "NoopSpan", "NoopTracer"]


class _InvalidSpanContext:
    trace_id = 0
    span_id = 0
    trace_flags = 0
    is_valid = False
    is_remote = False


class NoopSpan:
    """A span that records nothing."""

    def get_span_context(self) -> _InvalidSpanContext:
        return _InvalidSpanContext()

    def is_recording(self) -> bool:
        return False

    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def set_attributes(self, attributes: Any) -> None:
        return None

    def add_event(self, name: str, attributes: Any = None, timestamp: Any = None) -> None:
        return None

    def add_link(self, context: Any, attributes: Any = None) -> None:
        return None

    def record_exception(self, exception: BaseException, attributes: Any = None, **_: Any) -> None:
        return None

    def set_status(self, status: Any, description: str | None = None) -> None:
        return None

    def update_name(self, name: str) -> None:
        return None

    def end(self, end_time: int | None = None) -> None:
        return None

    def __enter__(self) -> NoopSpan:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


SPAN = NoopSpan()


class NoopTracer:
    def start_span(self, name: str, *args: Any, **kwargs: Any) -> NoopSpan:
        return SPAN

    @contextmanager
    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Iterator[NoopSpan]:
        yield SPAN


class NoopInstrument:
    def add(self, amount: float, attributes: Any = None, context: Any = None) -> None:
        return None

    def record(self, amount: float, attributes: Any = None, context: Any = None) -> None:
        return None


class NoopMeter:
    def _instrument(self, *args: Any, **kwargs: Any) -> NoopInstrument:
        return NoopInstrument()

    create_counter = _instrument
    create_up_down_counter = _instrument
    create_histogram = _instrument
    create_gauge = _instrument
    create_observable_gauge = _instrument
    create_observable_counter = _instrument
    create_observable_up_down_counter = _instrument


TRACER = NoopTracer()
METER = NoopMeter()
