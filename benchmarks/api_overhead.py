"""Throughput and latency of POST /v1/flows:analyze with telemetry fully on versus off.

Two real `securenet serve` processes (SQLite, in-process queue) run one after the
other in interleaved rounds, driven by the same load generator in this process, so
both see the same machine. "On" exports every span, metric and log record over OTLP
(to an in-process receiver on loopback) and serves /metrics; "off" is
OTEL_SDK_DISABLED=true. Target: on >= 0.80x the throughput of off.

    .venv/bin/python benchmarks/api_overhead.py [--seconds 8] [--rounds 3] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.otlp_receiver import OtlpReceiver
from tests.servers import free_port, wait_until_serving

FLOWS = [
    {
        "ts": 1000.0 + i,
        "orig_h": f"10.0.0.{i % 20}",
        "orig_p": 40000 + i,
        "resp_h": "10.0.1.5",
        "resp_p": 443,
        "proto": "tcp",
        "service": "ssl",
        "conn_state": "SF",
        "duration": 0.3,
        "orig_bytes": 900,
        "resp_bytes": 4200,
        "orig_pkts": 8,
        "resp_pkts": 9,
    }
    for i in range(20)
]


class Server:
    def __init__(self, name: str, env: dict[str, str], data_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECURENET_"))}
        self.env.update(env, SECURENET_DATA_DIR=str(data_dir), SECURENET_LOG_LEVEL="warning")
        self.key = subprocess.run(
            [sys.executable, "-m", "securenet", "tenants", "create", f"bench-{name}", "--rate-limit", "100000000"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "securenet", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_serving(f"http://127.0.0.1:{self.port}/health", self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


async def drive(server: Server, seconds: float, concurrency: int) -> list[float]:
    latencies: list[float] = []
    url = f"http://127.0.0.1:{server.port}/v1/flows:analyze"
    headers = {"Authorization": f"Bearer {server.key}"}
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(url, json=FLOWS, headers=headers)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    receiver = OtlpReceiver().start()
    with tempfile.TemporaryDirectory() as tmp:
        servers = {
            "on": Server(
                "on",
                {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint,
                    "OTEL_TRACES_EXPORTER": "otlp",
                    "OTEL_METRICS_EXPORTER": "otlp,prometheus",
                    "OTEL_LOGS_EXPORTER": "otlp",
                    "OTEL_METRIC_EXPORT_INTERVAL": "5000",
                },
                Path(tmp) / "on",
            ),
            "off": Server("off", {"OTEL_SDK_DISABLED": "true"}, Path(tmp) / "off"),
        }
        results: dict[str, list[float]] = {"on": [], "off": []}
        rps: dict[str, list[float]] = {"on": [], "off": []}
        try:
            for name in servers:  # warm-up
                asyncio.run(drive(servers[name], 1.0, args.concurrency))
            for _ in range(args.rounds):
                for name, server in servers.items():
                    latencies = asyncio.run(drive(server, args.seconds, args.concurrency))
                    results[name] += latencies
                    rps[name].append(len(latencies) / args.seconds)
        finally:
            for server in servers.values():
                server.stop()
            receiver.stop()
    print(
        f"POST /v1/flows:analyze, {len(FLOWS)} flows per request, concurrency {args.concurrency}, "
        f"{args.rounds} interleaved rounds of {args.seconds:.0f}s"
    )
    print(f"{'telemetry':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name in ("on", "off"):
        ordered = sorted(results[name])
        p50 = ordered[len(ordered) // 2] * 1000
        p99 = ordered[int(len(ordered) * 0.99)] * 1000
        print(f"{name:10} {statistics.median(rps[name]):8.1f} {p50:8.2f} {p99:8.2f}")
    ratio = statistics.median(rps["on"]) / statistics.median(rps["off"])
    print(f"throughput on/off: {ratio:.2f} (target >= 0.80); spans received by the OTLP sink: {len(receiver.spans())}")


if __name__ == "__main__":
    main()
