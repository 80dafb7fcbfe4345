"""The stream worker: queue → SecurityOrchestrator → database → ack.

At-least-once delivery made exactly-once in effect: a message is acknowledged only
after its analysis is committed, stale pending messages of dead workers are claimed,
and the stored analysis is keyed by the message id, so a redelivered message writes
nothing twice. A message that fails is delivered again, up to the queue's
``max_deliveries``; failing on its last delivery, it goes to the dead-letter stream
with the reason.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import structlog

from securenet.ingest import FlowQueue, Message, QueueUnavailableError, process_span
from securenet.netsec.flows import flows_to_frame
from securenet.netsec.models import ModelError
from securenet.orchestrator import SecurityOrchestrator

__all__ = ["StreamWorker", "failure_reason"]

log = structlog.get_logger("securenet.worker")


class StreamWorker:
    def __init__(
        self,
        queue: FlowQueue,
        orchestrator: SecurityOrchestrator,
        *,
        name: str | None = None,
        batch_size: int = 16,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
    ) -> None:
        self.queue = queue
        self.orchestrator = orchestrator
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.processed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Claim stale messages, else read new ones; process them; return how many were acked."""
        messages = self.queue.claim_stale(self.name, self.claim_idle_ms, self.batch_size)
        if not messages:
            messages = self.queue.consume(self.name, self.batch_size, self.block_ms)
        if not messages:
            return 0
        done: list[Message] = []
        failed: list[tuple[Message, str]] = []
        with process_span(messages):
            for message in messages:
                reason = self._process(message)
                if reason is None:
                    done.append(message)
                else:
                    failed.append((message, reason))
        if done:
            self.queue.ack(done)
            self.processed += len(done)
        if failed:
            # Pending again until claimed after claim_idle_ms; on its last delivery, a dead letter.
            self.queue.reject(failed)
        return len(done)

    def _process(self, message: Message) -> str | None:
        """None when the message was processed, else why it failed."""
        try:
            self.orchestrator.analyze_flows(
                message.tenant_id,
                flows_to_frame(message.records),
                kind="flows.stream",
                message_id=message.id,
            )
        except Exception as exc:
            reason = failure_reason(exc)
            log.error(
                "message processing failed",
                message_id=message.id,
                delivery=message.delivery_count,
                error_type=type(exc).__name__,
            )
            return reason
        return None

    def run(self) -> None:
        """Process until stopped; back off while the queue is unreachable."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                self.run_once()
                delay = 0.5
            except QueueUnavailableError:
                log.warning("queue unavailable; retrying", retry_in_s=delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)

    def start_thread(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"securenet-worker-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wait_until_idle(self, timeout_s: float = 10.0, poll_s: float = 0.05) -> bool:
        """Test and shutdown helper: True once no tenant stream has pending work."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.queue.backlog() == 0:
                return True
            time.sleep(poll_s)
        return False


def failure_reason(exc: BaseException) -> str:
    """What a dead letter says about a failure: the error type, plus detail only where it holds no secrets.

    Model errors describe the model file by name; OS errors say what failed and on which
    file name, without the directory. Anything else (a database error could quote its URL)
    is named by type alone.
    """
    name = type(exc).__name__
    if isinstance(exc, ModelError):
        return f"{name}: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        file_name = f" ({Path(exc.filename).name})" if isinstance(exc.filename, str | os.PathLike) else ""
        return f"{name}: {exc.strerror}{file_name}"
    return name
