"""p50/p99 of tools/call through the SecureNet gateway versus straight to the upstream.

One test upstream (the official SDK's server, streamable HTTP, its own process) and
one gateway (`create_gateway_app`, uvicorn on loopback, SQLite, telemetry as
configured by OTEL_*), driven by the official SDK client from this process. Calls
alternate between the two paths so both see the same machine; warm-up calls are not
counted. "protocol mode" is the client's `Client(mode=...)` on both paths; the gateway's
own hop to the upstream negotiates its era on its own (2026-07-28 against an SDK 2.3
upstream), and the line under each mode says what each hop ran. Target: <= +2 ms at p50.

The gateway runs in this process (uvicorn in a thread), so the CPU its threads use
during a call is the process CPU minus this thread's: "cpu" gives its median next to
the client's own, which shows how much of "added" is gateway work rather than waiting.

    .venv/bin/python benchmarks/mcp_latency.py [--calls 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp.client.client import Client
from tests.mcp.upstream.harness import http_upstream, uvicorn_in_thread

from securenet.api.gateway import create_gateway_app
from securenet.config import Settings
from securenet.mcp.gateway import UpstreamSpec


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(direct_url: str, gateway_url: str, calls: int, mode: str) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {
        key: [] for name in ("direct", "gateway") for key in (name, f"{name} client cpu", f"{name} gateway cpu")
    }
    async with Client(direct_url, mode=mode) as direct, Client(gateway_url, mode=mode) as gateway:
        clients = {"direct": direct, "gateway": gateway}
        print(f"  eras: client->upstream {direct.protocol_version}, client->gateway {gateway.protocol_version}")
        for client in clients.values():  # warm-up: connections, pins, caches
            await client.list_tools()
            for _ in range(20):
                await client.call_tool("add", {"a": 1, "b": 2})
        for i in range(calls):
            order = ("direct", "gateway") if i % 2 == 0 else ("gateway", "direct")
            for name in order:
                cpu_process, cpu_thread = time.process_time(), time.thread_time()
                started = time.perf_counter()
                result = await clients[name].call_tool("add", {"a": i, "b": 1})
                timings[name].append((time.perf_counter() - started) * 1000)
                client_cpu = time.thread_time() - cpu_thread
                timings[f"{name} client cpu"].append(client_cpu * 1000)
                timings[f"{name} gateway cpu"].append((time.process_time() - cpu_process - client_cpu) * 1000)
                assert not result.is_error
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
    os.environ.setdefault("SECURENET_LOG_LEVEL", "warning")
    with tempfile.TemporaryDirectory() as tmp, http_upstream() as upstream:
        os.environ["SECURENET_DATA_DIR"] = tmp
        app = create_gateway_app(Settings(), [UpstreamSpec("tools", url=upstream.url)])
        with uvicorn_in_thread(app) as port:
            for mode in ("legacy", "auto"):
                print(f"protocol mode {mode}: {args.calls} calls each, interleaved")
                timings = anyio.run(measure, upstream.url, f"http://127.0.0.1:{port}/mcp/tools", args.calls, mode)
                d50, g50 = percentile(timings["direct"], 0.5), percentile(timings["gateway"], 0.5)
                d99, g99 = percentile(timings["direct"], 0.99), percentile(timings["gateway"], 0.99)
                for name, p50, p99 in (("direct", d50, d99), ("gateway", g50, g99)):
                    mean = statistics.mean(timings[name])
                    print(f"  {name:8} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  mean {mean:6.2f} ms")
                print(f"  added    p50 {g50 - d50:+6.2f} ms  p99 {g99 - d99:+6.2f} ms  (target: <= +2 ms at p50)")
                cpu = {key: percentile(values, 0.5) for key, values in timings.items() if key.endswith(" cpu")}
                print(
                    f"  cpu p50  client {cpu['direct client cpu']:.2f} / {cpu['gateway client cpu']:.2f} ms "
                    f"(direct / via gateway), gateway threads {cpu['gateway gateway cpu']:.2f} ms per call "
                    f"({cpu['direct gateway cpu']:.2f} ms while idle)"
                )


if __name__ == "__main__":
    main()
