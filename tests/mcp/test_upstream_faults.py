"""Upstreams that are down at start, crash, restart or vanish mid-session: each is isolated and recovers.

Real upstreams throughout: the test server over streamable HTTP (a subprocess we kill with SIGKILL and
start again on the same port) and over stdio (its process killed under the gateway), behind the real
gateway served by uvicorn, called with the official SDK client.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp.types as types
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from sqlalchemy import func
from sqlalchemy import select as sql_select

from securenet.api import create_app
from securenet.api.gateway import create_gateway_app
from securenet.config import Settings
from securenet.mcp.gateway import UPSTREAM_UNAVAILABLE_CODE, UpstreamSpec
from securenet.store.database import Database
from securenet.store.schema import Analysis
from tests.api.conftest import ADMIN_KEY, admin, bearer
from tests.mcp.upstream.harness import ROOT, SERVER_MODULE, http_upstream, reset_mcp_sdk_tracer, uvicorn_in_thread
from tests.mcp.upstream.server import READY_PREFIX, read_call_log
from tests.servers import free_port, serve_app

FAST = {
    "mcp_upstream_backoff_max": 0.4,
    "mcp_upstream_ping_interval": 0.3,
    "mcp_upstream_connect_timeout": 5.0,
}


@contextlib.contextmanager
def upstream_on(port: int) -> Iterator[subprocess.Popen[str]]:
    """The test server over HTTP on a fixed port (so it can come back where the gateway expects it)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", SERVER_MODULE, "--http", str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready and proc.stdout.readline().startswith(READY_PREFIX)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def upstreams(base: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    health = httpx.get(f"{base}/health", headers=headers, timeout=5)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"  # liveness, whatever the upstreams do
    return dict(health.json()["upstreams"])


def status(base: str, name: str) -> str:
    return str(upstreams(base)[name]["status"])


async def add(url: str, headers: dict[str, str] | None = None) -> str:
    http_client = create_mcp_http_client(headers=headers)
    async with http_client, Client(streamable_http_client(url, http_client=http_client)) as client:
        result = await client.call_tool("add", {"a": 2, "b": 40})
    content = result.content[0]
    assert isinstance(content, types.TextContent)
    return content.text


async def refused(url: str, name: str, headers: dict[str, str] | None = None) -> MCPError:
    # The SDK client's task group may wrap the error it raises in an exception group.
    with pytest.raises((MCPError, BaseExceptionGroup)) as caught:
        await add(url, headers)
    error: BaseException = caught.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, MCPError)
    assert error.error.code == UPSTREAM_UNAVAILABLE_CODE
    assert repr(name) in error.error.message  # the error names the upstream
    return error


def events(caplog: pytest.LogCaptureFixture, event: str, upstream: str) -> list[dict[str, Any]]:
    """The structured log events (structlog hands stdlib its event dicts) of one kind for one upstream."""
    found = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    return [e for e in found if e.get("event") == event and e.get("upstream") == upstream]


async def test_each_upstream_is_isolated_supervised_and_reconnected(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="securenet.mcp")
    reset_mcp_sdk_tracer()
    monkeypatch.setenv("SECURENET_DATA_DIR", str(tmp_path / "data"))
    stdio_log = tmp_path / "stdio.jsonl"
    flaky_port = free_port()
    specs = [
        UpstreamSpec("flaky", url=f"http://127.0.0.1:{flaky_port}/mcp"),  # not running at start
        UpstreamSpec("local", command=(sys.executable, "-m", SERVER_MODULE, "--stdio", "--name", "local")),
        UpstreamSpec("missing", command=(str(tmp_path / "no-such-server"),)),
    ]
    with http_upstream() as steady:
        specs.append(UpstreamSpec("steady", url=steady.url))
        app = create_gateway_app(
            Settings(**FAST),
            specs,
            upstream_cwd=str(ROOT),
            upstream_env={"UPSTREAM_CALL_LOG": str(stdio_log)},
        )
        # The gateway starts although two upstreams cannot be reached.
        with uvicorn_in_thread(app) as port:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: status(base, "steady") == "up" and status(base, "local") == "up", what="healthy upstreams")
            state = upstreams(base)
            assert state["flaky"]["status"] in ("down", "reconnecting")
            assert "ConnectError" in state["flaky"]["last_error"]
            assert state["missing"]["status"] in ("down", "reconnecting")
            assert state["missing"]["last_error"]
            assert "127.0.0.1" not in str(state)  # no upstream addresses (URLs may carry credentials)
            ready = httpx.get(f"{base}/ready", timeout=5)
            assert ready.status_code == 200
            assert ready.json()["upstreams"]["flaky"]["status"] in ("down", "reconnecting")

            assert await add(f"{base}/mcp/steady") == "42"
            assert await add(f"{base}/mcp/local") == "42"
            await refused(f"{base}/mcp/flaky", "flaky")
            await refused(f"{base}/mcp/missing", "missing")

            # The upstream comes up later: the gateway connects on its own.
            with upstream_on(flaky_port) as process:
                wait_for(lambda: status(base, "flaky") == "up", what="flaky to come up")
                assert await add(f"{base}/mcp/flaky") == "42"
                process.kill()
                process.wait()
                # Its clients get an error naming it; the others never notice.
                await refused(f"{base}/mcp/flaky", "flaky")
                assert await add(f"{base}/mcp/steady") == "42"
                assert await add(f"{base}/mcp/local") == "42"
            wait_for(lambda: status(base, "flaky") != "up", what="flaky to be marked down")
            assert upstreams(base)["flaky"]["last_error"]

            # Restarted where it was: reconnected, and every route still works.
            with upstream_on(flaky_port):
                wait_for(lambda: status(base, "flaky") == "up", what="flaky to reconnect")
                assert upstreams(base)["flaky"]["connections"] == 2
                assert await add(f"{base}/mcp/flaky") == "42"
                assert await add(f"{base}/mcp/steady") == "42"

            # A crashed stdio upstream is started again.
            pids = {c["pid"] for c in read_call_log(stdio_log)}
            assert len(pids) == 1
            os.kill(pids.pop(), signal.SIGKILL)
            wait_for(lambda: upstreams(base)["local"]["connections"] == 2, what="local to be restarted")
            wait_for(lambda: status(base, "local") == "up", what="local to be up again")
            assert await add(f"{base}/mcp/local") == "42"
            assert len({c["pid"] for c in read_call_log(stdio_log)}) == 2
            assert await add(f"{base}/mcp/steady") == "42"
            assert status(base, "missing") in ("down", "reconnecting")
            assert upstreams(base)["missing"]["connections"] == 0
    reset_mcp_sdk_tracer()

    logs = capfd.readouterr()
    output = logs.out + logs.err
    assert "Task group is not initialized" not in output
    assert "Exception in ASGI application" not in output
    # Nothing of the gateway's, the SDK's or uvicorn's logged an error (other tests' exporters may).
    errors = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith(("securenet", "mcp", "uvicorn"))
    ]
    assert not errors, [r.getMessage() for r in errors]
    # One line per problem, not one per retry: `missing` was retried many times.
    assert len(events(caplog, "upstream unavailable; retrying", "missing")) == 1
    assert events(caplog, "upstream connection lost; reconnecting", "local")
    assert len(events(caplog, "upstream connected", "local")) == 2


def analyses(url: str) -> int:
    db = Database(url)
    try:
        with db.session() as session:
            return int(session.scalar(sql_select(func.count()).select_from(Analysis)) or 0)
    finally:
        db.dispose()


async def test_an_upstream_failing_inside_serve_leaves_the_service_running(tmp_path: Path) -> None:
    """In `serve`, a failed upstream must not end the lifespan: ingest, the worker and the verdict log go on."""
    reset_mcp_sdk_tracer()
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        mcp_upstreams=[f"flaky=http://127.0.0.1:{port}/mcp"],
        **FAST,
    )
    flow = [{"orig_h": "10.0.0.5", "resp_h": "10.0.0.9", "resp_p": 22, "proto": "tcp", "conn_state": "REJ", "ts": 1}]
    with upstream_on(port) as process, serve_app(create_app(settings)) as base:
        tenant = httpx.post(f"{base}/v1/tenants", json={"name": "acme"}, headers=admin()).json()
        headers = bearer(tenant)
        wait_for(lambda: upstreams(base)["flaky"]["status"] == "up", what="flaky to come up")
        assert await add(f"{base}/mcp/flaky", headers) == "42"
        process.kill()
        process.wait()
        await refused(f"{base}/mcp/flaky", "flaky", headers)
        time.sleep(1.0)  # the lifespan used to end about 0.5 s after the failure

        before = analyses(settings.effective_database_url)
        with upstream_on(port):
            wait_for(lambda: upstreams(base)["flaky"]["status"] == "up", what="flaky to reconnect")
            assert await add(f"{base}/mcp/flaky", headers) == "42"
            # The verdicts of that call were written, not lost to a closed verdict log.
            wait_for(lambda: analyses(settings.effective_database_url) >= before + 2, what="verdicts to be stored")
            ready = httpx.get(f"{base}/ready", timeout=5)
            assert ready.status_code == 200
            assert ready.json()["upstreams"]["flaky"]["status"] == "up"
        # The ingest queue and the embedded worker still run.
        accepted = httpx.post(f"{base}/v1/flows", json=flow, headers=headers, timeout=10)
        assert accepted.status_code == 202, accepted.text
        analyzed = httpx.post(f"{base}/v1/flows:analyze", json=flow, headers=headers, timeout=10)
        assert analyzed.status_code == 200, analyzed.text
    reset_mcp_sdk_tracer()
