"""Logs carry trace_id/span_id, stdlib records share the pipeline, secrets are masked."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from securenet.telemetry import TelemetrySettings, configure_logging, trace_operation


@pytest.fixture
def json_logs(monkeypatch) -> io.StringIO:
    monkeypatch.setenv("SECURENET_LOG_FORMAT", "json")
    stream = io.StringIO()
    configure_logging(TelemetrySettings(), stream=stream)
    yield stream
    configure_logging(TelemetrySettings(), stream=io.StringIO())


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_structlog_and_stdlib_lines_carry_the_current_span(telemetry, json_logs) -> None:
    telemetry()
    with trace_operation("work") as span:
        structlog.get_logger("securenet.test").info("analysis done", flows=3)
        logging.getLogger("sqlalchemy.engine").warning("slow query %s", "q1")
    ctx = span.get_span_context()
    records = lines(json_logs)
    assert [r["event"] for r in records] == ["analysis done", "slow query q1"]
    for record in records:
        assert record["trace_id"] == format(ctx.trace_id, "032x")
        assert record["span_id"] == format(ctx.span_id, "016x")
        assert int(record["trace_flags"], 16) & 0x01  # sampled
        assert len(record["trace_id"]) == 32 and len(record["span_id"]) == 16
    assert records[0]["flows"] == 3 and records[0]["logger"] == "securenet.test"
    assert records[1]["logger"] == "sqlalchemy.engine" and records[1]["level"] == "warning"


def test_no_ids_outside_a_span(telemetry, json_logs) -> None:
    telemetry()
    structlog.get_logger("securenet.test").info("idle")
    (record,) = lines(json_logs)
    assert "trace_id" not in record and "span_id" not in record


def test_secrets_are_masked(json_logs) -> None:
    log = structlog.get_logger("securenet.test")
    log.warning("auth failed", api_key="sn_live_abcdef123456", header="Bearer abcdefghijklmnop")
    logging.getLogger("uvicorn.error").warning("got Authorization Bearer zyxwvutsrqponm")
    text = json_logs.getvalue()
    for secret in ("sn_live_abcdef123456", "abcdefghijklmnop", "zyxwvutsrqponm"):
        assert secret not in text
    assert lines(json_logs)[0]["api_key"] == "[secure]"


def test_console_format_is_readable(monkeypatch, telemetry) -> None:
    telemetry()
    stream = io.StringIO()
    configure_logging(TelemetrySettings(), stream=stream)
    with trace_operation("work"):
        structlog.get_logger("securenet.test").info("hello", n=1)
    text = stream.getvalue()
    assert "hello" in text and "n=1" in text and "trace_id=" in text
    assert not text.lstrip().startswith("{")


PLANTED_KEY = "snk_Pl4nt3dK3yF0rT3st5_0123456789abcdefghijkl"


def _fail_with_key_in_locals_and_message(authorization: str) -> None:
    headers = {"authorization": authorization, "x-api-key": PLANTED_KEY}
    raise RuntimeError(f"upstream refused Authorization: {authorization} (X-API-Key={headers['x-api-key']})")


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_exceptions_are_logged_without_locals_and_with_credentials_masked(monkeypatch, log_format) -> None:
    monkeypatch.setenv("SECURENET_LOG_FORMAT", log_format)
    stream = io.StringIO()
    configure_logging(TelemetrySettings(), stream=stream)
    try:
        try:
            _fail_with_key_in_locals_and_message(f"Bearer {PLANTED_KEY}")
        except RuntimeError:
            structlog.get_logger("securenet.api").exception("unhandled error", path="/v1/detections")
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
        structlog.get_logger("securenet.test").info("headers seen", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        logging.getLogger("thirdparty").warning("retrying with %s", {"x-api-key": "admin-key-0123456789"})
    finally:
        configure_logging(TelemetrySettings(), stream=io.StringIO())
    text = stream.getvalue()
    for secret in (PLANTED_KEY, PLANTED_KEY[len("snk_") :], "dXNlcjpwYXNz", "admin-key-0123456789"):
        assert secret not in text
    assert text.count("RuntimeError: upstream refused Authorization: Bearer [secure]") == 2
    assert text.count(", in _fail_with_key_in_locals_and_message") == 2  # the traceback itself is there
    assert "headers = " not in text and "authorization =" not in text  # no local variables
