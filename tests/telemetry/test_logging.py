"""Logs carry trace_id/span_id, stdlib records share the pipeline, secrets are masked."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from typing import Any

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


ONE_CALL = """
    import json, logging, sys
    import structlog
    from securenet.telemetry import configure_logging, setup_telemetry, trace_operation

    with_logs = sys.argv[-1] == "with-logs"
    if with_logs:
        setup_telemetry()  # the one call
    else:
        setup_telemetry(configure_logs=False)
    with trace_operation("work") as span:
        structlog.get_logger("securenet.test").info("inside the span")
        logging.getLogger("thirdparty").warning("stdlib inside the span")
    handlers = [len(logging.getLogger().handlers)]
    if with_logs:
        configure_logging()  # configuring again replaces our handlers: no duplicates
        handlers.append(len(logging.getLogger().handlers))
    ctx = span.get_span_context()
    ids = {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}
    print("RESULT", json.dumps({**ids, "root_handlers": handlers}))
"""


def run_one_call(mode: str) -> tuple[dict[str, Any], str, str]:
    """ONE_CALL in a fresh interpreter (logging and OpenTelemetry unconfigured): result, stdout, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECURENET_"))}
    env.update(
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        SECURENET_LOG_FORMAT="json",
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(ONE_CALL), mode], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    logs = done.stdout.replace(line, "")
    return json.loads(line.removeprefix("RESULT ")), logs, done.stderr


def test_setup_telemetry_alone_correlates_logs_with_spans() -> None:
    result, stdout, stderr = run_one_call("with-logs")
    records = [json.loads(line) for line in stderr.splitlines()]
    assert [r["event"] for r in records] == ["inside the span", "stdlib inside the span"]
    for record in records:
        assert record["trace_id"] == result["trace_id"] and record["span_id"] == result["span_id"]
    assert result["root_handlers"] == [1, 1]
    assert not stdout.strip()


def test_setup_telemetry_can_leave_logging_alone() -> None:
    result, stdout, stderr = run_one_call("without-logs")
    assert result["root_handlers"] == [0]
    # structlog's and logging's own defaults: readable, but without trace context.
    assert "inside the span" in stdout and "stdlib inside the span" in stderr
    assert result["trace_id"] not in stdout + stderr and "trace_id" not in stdout + stderr
