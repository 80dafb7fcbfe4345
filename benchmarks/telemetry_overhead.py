"""Cost per span of SecureNet's tracing helpers against the raw OpenTelemetry SDK.

Prints microseconds per span and the ratio to the raw SDK, all measured in one run,
interleaved and repeated so that machine noise hits every variant alike. Target: our
helpers cost <= 1.10x the raw SDK's ``start_as_current_span`` with a BatchSpanProcessor.

    .venv/bin/python benchmarks/telemetry_overhead.py [--spans 20000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.otel_globals

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from tests.otel_globals import reset_otel_globals

from securenet.telemetry import setup_telemetry, shutdown_telemetry, trace_operation, traced


class DiscardExporter(SpanExporter):
    """Receives batches like a real exporter and drops them: we time the hot path only."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def per_span_us(body: Callable[[int], None], n: int) -> float:
    start = time.perf_counter()
    body(n)
    return (time.perf_counter() - start) / n * 1e6


def measure(variants: dict[str, Callable[[int], None]], n: int, repeats: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for body in variants.values():  # warm-up
        body(n // 10)
    for _ in range(repeats):
        for name, body in variants.items():
            samples[name].append(per_span_us(body, n))
    # The median of interleaved repeats is robust to a noisy neighbour on a 2-core machine.
    return {name: statistics.median(values) for name, values in samples.items()}


def raw_variant(tracer: object) -> Callable[[int], None]:
    def work() -> None:
        return None

    def body(n: int) -> None:
        start = tracer.start_as_current_span  # type: ignore[attr-defined]
        for _ in range(n):
            with start("work"):
                work()

    return body


def traced_variant() -> Callable[[int], None]:
    @traced(name="work")
    def work() -> None:
        return None

    def body(n: int) -> None:
        for _ in range(n):
            work()

    return body


def operation_variant() -> Callable[[int], None]:
    def work() -> None:
        return None

    def body(n: int) -> None:
        for _ in range(n):
            with trace_operation("work"):
                work()

    return body


def setup(**env: str) -> object:
    for key in [k for k in os.environ if k.startswith("OTEL_")]:
        del os.environ[key]
    os.environ.update({"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", **env})
    handle = setup_telemetry()
    if handle.tracer_provider is not None:
        handle.tracer_provider.add_span_processor(BatchSpanProcessor(DiscardExporter(), max_queue_size=1 << 16))
    return handle


def teardown() -> None:
    shutdown_telemetry()
    reset_otel_globals()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    raw_provider = TracerProvider(shutdown_on_exit=False)
    raw_provider.add_span_processor(BatchSpanProcessor(DiscardExporter(), max_queue_size=1 << 16))
    raw_tracer = raw_provider.get_tracer("raw")
    raw_off = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False).get_tracer("raw")

    setup()
    sampled = measure(
        {"raw SDK": raw_variant(raw_tracer), "traced": traced_variant(), "trace_operation": operation_variant()},
        args.spans,
        args.repeats,
    )
    teardown()

    setup(OTEL_TRACES_SAMPLER="always_off")
    off = measure(
        {
            "raw SDK": raw_variant(raw_tracer),
            "raw SDK sampled out": raw_variant(raw_off),
            "traced sampled out": traced_variant(),
            "trace_operation sampled out": operation_variant(),
        },
        args.spans,
        args.repeats,
    )
    teardown()

    setup(OTEL_SDK_DISABLED="true")
    disabled = measure(
        {
            "raw SDK": raw_variant(raw_tracer),
            "traced disabled": traced_variant(),
            "trace_operation disabled": operation_variant(),
        },
        args.spans,
        args.repeats,
    )
    teardown()
    raw_provider.shutdown()

    print(f"{'variant':32} {'us/span':>9} {'x raw SDK':>10} {'x raw, same config':>19}")
    rows = [
        ("raw SDK (BatchSpanProcessor)", sampled["raw SDK"], sampled["raw SDK"], sampled["raw SDK"]),
        ("traced", sampled["traced"], sampled["raw SDK"], sampled["raw SDK"]),
        ("trace_operation", sampled["trace_operation"], sampled["raw SDK"], sampled["raw SDK"]),
        ("raw SDK sampled out", off["raw SDK sampled out"], off["raw SDK"], off["raw SDK sampled out"]),
        ("traced sampled out", off["traced sampled out"], off["raw SDK"], off["raw SDK sampled out"]),
        ("trace_operation sampled out", off["trace_operation sampled out"], off["raw SDK"], off["raw SDK sampled out"]),
        ("traced disabled", disabled["traced disabled"], disabled["raw SDK"], float("nan")),
        ("trace_operation disabled", disabled["trace_operation disabled"], disabled["raw SDK"], float("nan")),
    ]
    for name, value, raw, same in rows:
        print(f"{name:32} {value:9.2f} {value / raw:10.2f} {value / same:19.2f}")
    print(f"target: traced and trace_operation <= 1.10x raw SDK; spans={args.spans} repeats={args.repeats}")


if __name__ == "__main__":
    main()
