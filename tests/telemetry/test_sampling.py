"""Each sampler from OTEL_TRACES_SAMPLER, including parent-based decisions on remote parents."""

from __future__ import annotations

import pytest
from opentelemetry import context, propagate

from securenet.telemetry import trace_operation

SAMPLED_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


def run_spans(n: int, parent: str | None = None) -> None:
    token = None
    if parent is not None:
        token = context.attach(propagate.extract({"traceparent": parent}))
    try:
        for _ in range(n):
            with trace_operation("sampled?"):
                pass
    finally:
        if token is not None:
            context.detach(token)


@pytest.mark.parametrize(
    ("sampler", "arg", "parent", "expected"),
    [
        ("always_on", None, None, 50),
        ("always_off", None, None, 0),
        ("traceidratio", "0", None, 0),
        ("traceidratio", "1", None, 50),
        ("parentbased_always_on", None, SAMPLED_PARENT, 50),
        ("parentbased_always_on", None, UNSAMPLED_PARENT, 0),
        ("parentbased_always_off", None, SAMPLED_PARENT, 50),
        ("parentbased_always_off", None, None, 0),
        ("parentbased_traceidratio", "0", SAMPLED_PARENT, 50),
        ("parentbased_traceidratio", "1", UNSAMPLED_PARENT, 0),
        ("always_on", None, UNSAMPLED_PARENT, 50),
    ],
)
def test_sampler(telemetry, sampler, arg, parent, expected) -> None:
    env = {"OTEL_TRACES_SAMPLER": sampler}
    if arg is not None:
        env["OTEL_TRACES_SAMPLER_ARG"] = arg
    t = telemetry(**env)
    run_spans(50, parent)
    spans = t.finished()
    assert len(spans) == expected
    if parent is not None and spans:
        assert all(format(s.context.trace_id, "032x") == parent.split("-")[1] for s in spans)


def test_ratio_sampler_keeps_about_the_ratio(telemetry) -> None:
    t = telemetry(OTEL_TRACES_SAMPLER="traceidratio", OTEL_TRACES_SAMPLER_ARG="0.25")
    run_spans(2000)
    assert 350 < len(t.finished()) < 650
