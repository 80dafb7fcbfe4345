"""What every room needs to own its metric instruments; telemetry itself owns none.

A room declares its instruments in a class built from a :class:`~opentelemetry.metrics.Meter`
and reaches them through an :class:`Instruments` holder, which builds them on first use and
again whenever telemetry has been set up anew (so instruments created before setup, or
under an earlier setup, never record into a provider that is gone)::

    class DetectionMetrics:
        def __init__(self, meter: Meter) -> None:
            self.detections = meter.create_counter("threat_detections", unit="{detection}")

    detection_metrics = Instruments("securenet.netsec", DetectionMetrics)
    detection_metrics().detections.add(1, {"tenant.id": tenant_id})

Instrument names follow OpenTelemetry's style; the Prometheus exporter turns them into the
names operators scrape (dots become underscores, counters gain ``_total``, the unit ``s``
becomes ``_seconds``). docs/telemetry.md lists every instrument, its owner and both spellings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from opentelemetry.metrics import Meter

from securenet.telemetry import _setup

__all__ = ["DURATION_BUCKETS_S", "Instruments"]

#: Histogram buckets for operation durations in seconds (the SDK default is tuned for ms).
DURATION_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

T = TypeVar("T")


class Instruments(Generic[T]):
    """One room's instruments for instrumentation scope ``scope``, built by ``build(meter)``.

    Calling the holder returns the instruments of the current telemetry setup: built on
    first use and rebuilt after ``setup_telemetry`` ran again. The check is one identity
    comparison, cheap enough for every request.
    """

    __slots__ = ("_build", "_current", "_lock", "scope")

    def __init__(self, scope: str, build: Callable[[Meter], T]) -> None:
        self.scope = scope
        self._build = build
        self._lock = threading.Lock()
        self._current: tuple[_setup.TelemetryHandle | None, T] | None = None

    def __call__(self) -> T:
        handle = _setup.current_handle()
        current = self._current
        if current is not None and current[0] is handle:
            return current[1]
        with self._lock:
            current = self._current
            if current is not None and current[0] is handle:
                return current[1]
            built = self._build(_setup.get_meter(self.scope))
            self._current = (handle, built)
            return built
