"""A real Prometheus server scrapes /metrics and can query the documented series."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from securenet.api import create_app
from securenet.netsec._metrics import detection_metrics
from tests.servers import free_port, require_binary, serve_app


def test_prometheus_scrapes_our_metrics(tmp_path: Path) -> None:
    prometheus = require_binary("prometheus", "/usr/bin/prometheus")
    with serve_app(create_app()) as base:
        assert httpx.get(f"{base}/openapi.json").status_code == 200
        detection_metrics().record_threat_detection("acme", "critical", count=5)
        target = base.removeprefix("http://")
        (tmp_path / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n"
            "scrape_configs:\n"
            f"  - job_name: securenet\n    static_configs:\n      - targets: ['{target}']\n"
        )
        port = free_port()
        proc = subprocess.Popen(
            [
                prometheus,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            api = f"http://127.0.0.1:{port}/api/v1/query"
            deadline = time.monotonic() + 40
            result: list = []
            while time.monotonic() < deadline and not result:
                time.sleep(0.5)
                try:
                    body = httpx.get(api, params={"query": 'threat_detections_total{tenant_id="acme"}'}).json()
                    result = body["data"]["result"]
                except (httpx.TransportError, KeyError, ValueError):
                    assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
            assert result, "Prometheus never scraped threat_detections_total"
            assert result[0]["metric"]["threat_level"] == "critical"
            assert float(result[0]["value"][1]) == 5.0
            up = httpx.get(api, params={"query": 'api_requests_total{http_route="/openapi.json"}'}).json()
            assert up["data"]["result"], "api_requests_total by route template is queryable"
        finally:
            proc.terminate()
            proc.wait(10)
            if proc.stderr:
                proc.stderr.close()
