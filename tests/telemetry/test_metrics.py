"""Instruments: a room's instruments, built on first use and rebuilt for each telemetry setup."""

from __future__ import annotations

from typing import Any

from opentelemetry.metrics import Meter
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from securenet.telemetry import Instruments


class Counters:
    built = 0

    def __init__(self, meter: Meter) -> None:
        Counters.built += 1
        self.events = meter.create_counter("test.instrument_events", unit="{event}")


def scraped() -> dict[tuple[str, str], float]:
    """``(tenant_id, otel_scope_name) -> value`` of the test counter, as Prometheus reads it."""
    found = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if sample.name == "test_instrument_events_total":
                found[(sample.labels["tenant_id"], sample.labels["otel_scope_name"])] = sample.value
    return found


def test_instruments_are_built_once_per_setup_and_record_into_the_current_one(telemetry: Any) -> None:
    Counters.built = 0
    counters = Instruments("securenet.test", Counters)
    before = counters()  # before setup: built on the API's proxy meter
    assert counters() is before
    assert Counters.built == 1

    telemetry()
    after = counters()
    assert after is not before  # rebuilt on the provider setup_telemetry installed
    assert counters() is after
    assert Counters.built == 2
    after.events.add(2, {"tenant.id": "acme"})
    assert scraped() == {("acme", "securenet.test"): 2.0}
