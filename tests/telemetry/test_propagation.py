"""OTEL_PROPAGATORS over a real HTTPX call to the app: the server continues the client's trace."""

from __future__ import annotations

import httpx
import pytest
from fastapi import Request
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from securenet.api import create_app
from securenet.telemetry import instrument_httpx, trace_operation
from tests.servers import serve_app

HEADERS = {
    "tracecontext": {"traceparent"},
    "b3": {"b3"},
    "b3multi": {"x-b3-traceid", "x-b3-spanid", "x-b3-sampled"},
}


@pytest.mark.parametrize("propagators", ["tracecontext", "b3", "b3multi", "tracecontext,baggage"])
def test_inject_extract_round_trip(telemetry, propagators) -> None:
    telemetry(OTEL_PROPAGATORS=propagators)
    carrier: dict[str, str] = {}
    with trace_operation("client") as span:
        propagate.inject(carrier)
    for name in propagators.split(","):
        if name in HEADERS:
            assert HEADERS[name] <= set(carrier)
    extracted = trace.get_current_span(propagate.extract(carrier)).get_span_context()
    assert extracted.trace_id == span.get_span_context().trace_id
    assert extracted.span_id == span.get_span_context().span_id
    assert extracted.is_remote and extracted.trace_flags.sampled


@pytest.mark.parametrize("propagator", ["tracecontext", "b3", "b3multi"])
def test_server_continues_the_trace_of_an_instrumented_httpx_call(telemetry, propagator) -> None:
    t = telemetry(OTEL_PROPAGATORS=propagator)
    app = create_app()
    received: dict[str, str] = {}

    @app.get("/echo")
    async def echo(request: Request) -> dict[str, str]:
        received.update(request.headers)
        ctx = trace.get_current_span().get_span_context()
        return {"trace_id": format(ctx.trace_id, "032x")}

    with serve_app(app) as base, httpx.Client(base_url=base) as client:
        instrument_httpx(client)
        with trace_operation("caller") as caller:
            body = client.get("/echo").json()

    assert HEADERS[propagator] <= set(received)
    other = set().union(*(v for k, v in HEADERS.items() if k != propagator))
    assert not (other & set(received)), "only the configured propagator injects"
    caller_trace = format(caller.get_span_context().trace_id, "032x")
    assert body["trace_id"] == caller_trace
    # The HTTP client span (the app's start-up also makes CLIENT spans, for its database).
    client_span = next(s for s in t.finished() if s.kind is SpanKind.CLIENT and s.name.startswith("GET"))
    server_span = next(s for s in t.finished() if s.kind is SpanKind.SERVER)
    assert client_span.parent.span_id == caller.get_span_context().span_id
    assert server_span.parent.span_id == client_span.context.span_id
    assert server_span.attributes["http.route"] == "/echo"
    assert server_span.attributes["http.response.status_code"] == 200


def test_probes_and_scrapes_are_not_traced(telemetry) -> None:
    t = telemetry()
    with serve_app(create_app()) as base:
        assert httpx.get(f"{base}/health").status_code == 200
        assert httpx.get(f"{base}/metrics").status_code == 200
        assert httpx.get(f"{base}/openapi.json").status_code == 200
    routes = [s.attributes.get("url.path") for s in t.finished() if s.kind is SpanKind.SERVER]
    assert routes == ["/openapi.json"]
    assert not [s for s in t.finished() if s.kind is SpanKind.INTERNAL and "http send" in s.name]
