"""A real 500 in a real server: its log has the error and its trace id, never the tenant's API key."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, wait_until_serving

ADMIN_KEY = "admin-key-for-tests-0123456789"


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_an_unhandled_error_never_logs_the_api_key(tmp_path: Path, log_format: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECURENET_"))}
    env.update(
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="prometheus",
        OTEL_LOGS_EXPORTER="none",
        SECURENET_DATA_DIR=str(tmp_path),
        SECURENET_ADMIN_KEY=ADMIN_KEY,
        SECURENET_LOG_FORMAT=log_format,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "securenet", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(f"{base}/health", proc)
        created = httpx.post(
            f"{base}/v1/tenants", json={"name": "acme"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10
        )
        assert created.status_code == 201, created.text
        key = created.json()["api_key"]
        assert key.startswith("snk_")
        # The database loses the key table under the running server: authentication fails
        # with an unhandled error while the presented key is in the handler's local variables.
        with sqlite3.connect(tmp_path / "securenet.db") as db:
            db.execute("DROP TABLE api_keys")
        failed = httpx.get(f"{base}/v1/detections", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)

    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("application/problem+json")
    output = stdout + stderr
    assert key not in output
    assert key[: len("snk_") + 16] not in output  # not even a truncated part of it
    assert "Bearer [secure]" not in output  # not even masked: no local variables are printed

    access = '"GET /v1/detections HTTP/1.1" 500'
    if log_format == "json":
        records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        (error,) = [r for r in records if r["event"] == "unhandled error"]
        assert error["level"] == "error" and error["path"] == "/v1/detections"
        assert "sqlite3.OperationalError: no such table: api_keys" in error["exception"]
        trace_id = error["trace_id"]
        (logged_500,) = [r for r in records if access in r["event"]]
        assert logged_500["trace_id"] == trace_id
    else:
        (error_line,) = [line for line in stderr.splitlines() if "unhandled error" in line]
        assert "[error" in error_line and "path=/v1/detections" in error_line
        assert "sqlite3.OperationalError: no such table: api_keys" in stderr
        trace_id = error_line.split("trace_id=")[1].split()[0]
        (logged_500,) = [line for line in stderr.splitlines() if access in line]
        assert f"trace_id={trace_id}" in logged_500
    assert len(trace_id) == 32 and int(trace_id, 16) != 0
