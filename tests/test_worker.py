"""Real Redis and PostgreSQL: kill a worker mid-batch; every flow is stored exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from securenet.ingest import RedisStreamQueue
from securenet.store.database import Database
from securenet.store.schema import Analysis, Detection
from securenet.store.tenants import create_tenant

MESSAGES = 60
FLOWS_PER_MESSAGE = 60


def scan_batch(n: int) -> list[dict]:
    return [
        {
            "ts": 1000.0 + n + i * 0.001,
            "orig_h": f"10.9.{n}.1",
            "resp_h": "10.0.0.9",
            "resp_p": i + 1,
            "proto": "tcp",
            "conn_state": "REJ",
        }
        for i in range(FLOWS_PER_MESSAGE)
    ]


def start_worker(env: dict[str, str], claim_idle_ms: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "securenet", "worker", "--batch-size", "8", "--claim-idle-ms", str(claim_idle_ms)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        analyses = session.scalar(select(func.count()).select_from(Analysis)) or 0
        distinct = session.scalar(select(func.count(func.distinct(Analysis.message_id)))) or 0
        detections = session.scalar(select(func.count()).select_from(Detection)) or 0
    return analyses, distinct, detections


def test_killed_worker_messages_are_processed_exactly_once(postgres_url, redis_url) -> None:
    db = Database(postgres_url)
    db.upgrade()
    with db.session() as session:
        tenant, _ = create_tenant(session, "acme")
        tenant_id = tenant.id
    queue = RedisStreamQueue(redis_url)
    for n in range(MESSAGES):
        queue.publish(tenant_id, scan_batch(n))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECURENET_"))}
    env.update(SECURENET_DATABASE_URL=postgres_url, SECURENET_REDIS_URL=redis_url, OTEL_SDK_DISABLED="true")

    first = start_worker(env, claim_idle_ms=60_000)
    try:
        deadline = time.monotonic() + 60
        while counts(db)[0] < 5:
            assert first.poll() is None, "worker exited early"
            assert time.monotonic() < deadline, "worker made no progress"
            time.sleep(0.02)
    finally:
        first.send_signal(signal.SIGKILL)  # mid-batch: some analyses committed, not yet acked
        first.wait(10)
    killed_at = counts(db)[0]
    assert 0 < killed_at < MESSAGES

    second = start_worker(env, claim_idle_ms=300)
    try:
        deadline = time.monotonic() + 90
        while counts(db)[0] < MESSAGES or queue.backlog() > 0:
            assert second.poll() is None, "second worker exited"
            assert time.monotonic() < deadline, f"stuck at {counts(db)} backlog {queue.backlog()}"
            time.sleep(0.1)
        time.sleep(1.0)  # anything redelivered late would show up now
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    analyses, distinct, detections = counts(db)
    assert analyses == distinct == MESSAGES
    assert detections == MESSAGES * FLOWS_PER_MESSAGE
    assert queue.backlog() == 0
    queue.close()
    db.dispose()
