"""`securenet serve --workers 2`: telemetry is set up once per worker and flushed at exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.servers import free_port, wait_until_serving


def test_each_worker_exports_its_spans_once_and_flushes_on_exit(otlp_receiver) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECURENET_"))}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.http_endpoint,
        OTEL_METRICS_EXPORTER="prometheus",
        OTEL_LOGS_EXPORTER="none",
        OTEL_BSP_SCHEDULE_DELAY="60000",  # nothing leaves before shutdown: the exit flush must do it
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "securenet", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health", proc)
        requests = 40

        def fetch(_: int) -> int:
            # A new connection each time, several at once, so the kernel spreads them over the workers.
            return httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(fetch, range(requests))) == {200}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr

    server_spans = [s for s in otlp_receiver.spans() if s.attributes.get("url.path") == "/openapi.json"]
    assert len(server_spans) == requests  # none lost at exit, none exported twice
    assert len({s.span_id for s in server_spans}) == requests
    pids = {s.resource["process.pid"] for s in server_spans}
    instances = {s.resource["service.instance.id"] for s in server_spans}
    # One telemetry setup per serving process: as many instance ids as processes, never the parent.
    # (Which workers the kernel hands connections to is up to it, so at least one served.)
    assert len(pids) == len(instances) >= 1
    assert os.getpid() not in pids


def test_gunicorn_with_preload_sets_up_telemetry_in_each_worker_only(otlp_receiver, tmp_path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECURENET_"))}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.http_endpoint,
        OTEL_METRICS_EXPORTER="prometheus",
        OTEL_LOGS_EXPORTER="none",
        OTEL_BSP_SCHEDULE_DELAY="60000",
        SECURENET_DATA_DIR=str(tmp_path),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--preload",
            "-k",
            "uvicorn_worker.UvicornWorker",
            "-w",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "securenet.api.app:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health", proc)
        for _ in range(30):
            assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    spans = [s for s in otlp_receiver.spans() if s.attributes.get("url.path") == "/openapi.json"]
    assert len(spans) == 30
    pids = {s.resource["process.pid"] for s in spans}
    assert proc.pid not in pids  # the preloading master never exports
    assert len({s.resource["service.instance.id"] for s in spans}) == len(pids)
