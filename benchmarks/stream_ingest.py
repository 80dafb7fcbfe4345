"""Flows per second through API → Redis Stream → worker(s) → PostgreSQL, with 1 and 2 workers.

Starts real redis-server and PostgreSQL (Debian packages) on loopback ports, one
`securenet serve` process and N `securenet worker` processes, posts batches to
POST /v1/flows, and times until every batch's analysis is committed.

    .venv/bin/python benchmarks/stream_ingest.py [--batches 200] [--flows-per-batch 500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers import PostgresServer, RedisServer, free_port, postgres_bindir, require_binary, wait_until_serving

from securenet.store.database import Database
from securenet.store.schema import Analysis


def batch(n: int, size: int) -> list[dict]:
    return [
        {
            "ts": 1000.0 + n + i * 0.001,
            "orig_h": f"10.{n % 200}.{i % 200}.1",
            "orig_p": 40000 + i % 1000,
            "resp_h": "10.0.1.5",
            "resp_p": 443 if i % 10 else 22,
            "proto": "tcp",
            "service": "ssl",
            "conn_state": "SF" if i % 7 else "REJ",
            "duration": 0.3,
            "orig_bytes": 900 + i,
            "resp_bytes": 4200,
            "orig_pkts": 8,
            "resp_pkts": 9,
        }
        for i in range(size)
    ]


def run(workers: int, args: argparse.Namespace, redis: RedisServer, postgres: PostgresServer, tmp: Path) -> float:
    name = f"bench_{workers}w_{int(time.time())}"
    database_url = postgres.create_database(name)
    redis.flushall()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECURENET_"))}
    env.update(
        SECURENET_DATABASE_URL=database_url,
        SECURENET_REDIS_URL=redis.url,
        SECURENET_DATA_DIR=str(tmp / name),
        SECURENET_LOG_LEVEL="warning",
        SECURENET_STREAM_MAX_LEN="100000",
    )
    subprocess.run([sys.executable, "-m", "securenet", "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run(
        [sys.executable, "-m", "securenet", "tenants", "create", "bench", "--rate-limit", "100000000"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "securenet", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    db = Database(database_url)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health", procs[0])
        payloads = [batch(n, args.flows_per_batch) for n in range(args.batches)]
        started = time.perf_counter()
        procs += [
            subprocess.Popen(
                [sys.executable, "-m", "securenet", "worker", "--batch-size", "8"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:

            def post(payload: list[dict]) -> None:
                client.post("/v1/flows", json=payload).raise_for_status()

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(post, payloads))
        posted = time.perf_counter() - started
        deadline = time.monotonic() + 600
        while True:
            with db.session() as session:
                done = session.scalar(select(func.count()).select_from(Analysis)) or 0
            if done >= args.batches:
                break
            assert time.monotonic() < deadline, f"only {done}/{args.batches} batches analysed"
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        db.dispose()
    flows = args.batches * args.flows_per_batch
    print(
        f"{workers} worker(s): {flows} flows in {elapsed:.1f}s = {flows / elapsed:,.0f} flows/s "
        f"(ingest API finished after {posted:.1f}s)"
    )
    return flows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--flows-per-batch", type=int, default=500)
    args = parser.parse_args()
    require = require_binary  # fails loudly if a server is missing
    redis = RedisServer(require("redis-server", "/usr/bin/redis-server")).start()
    postgres = PostgresServer(postgres_bindir()).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            one = run(1, args, redis, postgres, Path(tmp))
            two = run(2, args, redis, postgres, Path(tmp))
        print(f"scaling 2 workers / 1 worker: {two / one:.2f}x (2 cores shared with the API, Redis and PostgreSQL)")
    finally:
        redis.close()
        postgres.close()


if __name__ == "__main__":
    main()
