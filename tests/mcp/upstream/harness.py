"""Helpers to run the test upstream (`tests.mcp.upstream.server`) from tests: stdio, HTTP subprocess, HTTP thread."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcp.shared._otel
import uvicorn
from mcp.client.stdio import StdioServerParameters
from opentelemetry import trace
from starlette.types import ASGIApp

from tests.mcp.upstream.server import CALL_LOG_ENV, READY_PREFIX, read_call_log

__all__ = [
    "ROOT",
    "SERVER_MODULE",
    "HttpUpstream",
    "http_upstream",
    "reset_mcp_sdk_tracer",
    "stdio_params",
    "uvicorn_in_thread",
]

ROOT = Path(__file__).resolve().parents[3]
SERVER_MODULE = "tests.mcp.upstream.server"


def reset_mcp_sdk_tracer() -> None:
    """Make the SDK's module-level tracer follow the *current* global TracerProvider again.

    `mcp.shared._otel._tracer` is an OpenTelemetry `ProxyTracer` created at import time; it caches the real
    tracer of the first global provider it sees, so after tests swap providers the SDK would keep exporting to
    the first one (and keep creating real spans that overwrite `_meta.traceparent`). Call this (or monkeypatch
    `mcp.shared._otel._tracer`) whenever the global provider changes.
    """
    mcp.shared._otel._tracer = trace.get_tracer("mcp-python-sdk")


def _server_env(call_log: str | os.PathLike[str] | None, env: dict[str, str] | None) -> dict[str, str]:
    out = dict(env or {})
    if call_log is not None:
        out[CALL_LOG_ENV] = str(call_log)
    return out


def stdio_params(
    call_log: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    env: dict[str, str] | None = None,
) -> StdioServerParameters:
    """Parameters to launch the upstream over stdio (`stdio_client(...)` or `Client(params)`)."""
    args = ["-m", SERVER_MODULE, "--stdio"]
    if name is not None:
        args += ["--name", name]
    # StdioServerParameters.env is merged over the SDK's minimal safe environment (PATH, HOME, ...).
    return StdioServerParameters(command=sys.executable, args=args, env=_server_env(call_log, env), cwd=str(ROOT))


@dataclass
class HttpUpstream:
    url: str
    port: int
    process: subprocess.Popen[str]
    call_log: Path | None

    def calls(self) -> list[dict[str, Any]]:
        return read_call_log(self.call_log) if self.call_log is not None else []


@contextlib.contextmanager
def http_upstream(
    call_log: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    path: str = "/mcp",
    stateless: bool = False,
    json_response: bool = False,
    startup_timeout: float = 30.0,
) -> Iterator[HttpUpstream]:
    """Run the upstream over streamable HTTP in a subprocess on a free 127.0.0.1 port; SIGINT it on exit."""
    cmd = [sys.executable, "-m", SERVER_MODULE, "--http", "0", "--path", path]
    if name is not None:
        cmd += ["--name", name]
    if stateless:
        cmd.append("--stateless")
    if json_response:
        cmd.append("--json-response")
    env = {**os.environ, **_server_env(call_log, None)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], startup_timeout)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith(READY_PREFIX):
            raise RuntimeError(f"upstream did not start (exit code {proc.poll()}): {line!r}")
        url = line.split()[1]
        port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
        yield HttpUpstream(url=url, port=port, process=proc, call_log=Path(call_log) if call_log else None)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def uvicorn_in_thread(app: ASGIApp, host: str = "127.0.0.1", *, startup_timeout: float = 30.0) -> Iterator[int]:
    """Serve an ASGI app (e.g. `build_server().streamable_http_app()`) with uvicorn in a thread; yields the port.

    The socket is bound before the thread starts (port 0 -> free port, no race). The app's lifespan runs, so
    SDK session managers are started and stopped properly.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY: see server.run_http
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
