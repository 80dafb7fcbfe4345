"""Shared fixtures: every test starts with a clean OpenTelemetry and OTEL_* environment."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from securenet.telemetry import TelemetryHandle, TelemetrySettings, setup_telemetry, shutdown_telemetry
from tests.otel_globals import reset_otel_globals
from tests.otlp_fixtures import otlp_receiver
from tests.server_fixtures import postgres_server, postgres_url, redis_server, redis_url

__all__ = ["otlp_receiver", "postgres_server", "postgres_url", "redis_server", "redis_url"]


@pytest.fixture(autouse=True)
def clean_telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("OTEL_") or name.startswith("SECURENET_"):
            monkeypatch.delenv(name)
    # Tests must never reach a collector they did not start.
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")
    yield
    shutdown_telemetry(timeout_s=5.0)
    reset_otel_globals()


@pytest.fixture(autouse=True)
def user_data_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tests never touch the real user data directory, SecureNet's default data_dir.

    XDG_DATA_HOME (which platformdirs follows) points at a fresh directory for each test, so
    the default is ``<it>/securenet``, for subprocesses too.
    """
    home = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


@dataclass
class Telemetry:
    handle: TelemetryHandle
    spans: InMemorySpanExporter

    def finished(self) -> list[Any]:
        return list(self.spans.get_finished_spans())

    def by_name(self, name: str) -> Any:
        matches = [s for s in self.finished() if s.name == name]
        assert len(matches) == 1, f"expected one span {name!r}, got {[s.name for s in self.finished()]}"
        return matches[0]


@pytest.fixture
def telemetry(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Telemetry]:
    """Set up real telemetry with the given OTEL_* variables, plus an in-memory span exporter.

    Logging is left alone: tests of logs configure it with a stream of their own.
    """

    def make(**env: str) -> Telemetry:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        handle = setup_telemetry(TelemetrySettings(), configure_logs=False)
        exporter = InMemorySpanExporter()
        if handle.tracer_provider is not None:
            handle.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        return Telemetry(handle, exporter)

    return make


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A loopback TCP server that accepts connections and never answers."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()
