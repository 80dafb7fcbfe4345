"""Stores MCP verdicts off the hot path, in batches, without ever dropping one.

The gateway answers a message as soon as its verdict is known; the verdict row is
written by a background thread that inserts in batches. When the buffer is full the
caller writes its own row synchronously (back-pressure instead of loss), and
``close`` flushes everything before the process exits.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

import structlog
from sqlalchemy import insert

from securenet.store.database import Database
from securenet.store.schema import Analysis

__all__ = ["VerdictLog"]

log = structlog.get_logger("securenet.store")


class VerdictLog:
    def __init__(self, db: Database, *, max_buffer: int = 10_000, flush_interval_s: float = 0.2) -> None:
        self.db = db
        self.flush_interval_s = flush_interval_s
        self._buffer: queue.Queue[dict[str, Any]] = queue.Queue(max_buffer)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="securenet-verdict-log", daemon=True)
        self._thread.start()
        self.written = 0

    def submit(self, row: dict[str, Any]) -> None:
        try:
            self._buffer.put_nowait(row)
        except queue.Full:
            self._write([row])

    def _drain(self, limit: int = 1000) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while len(rows) < limit:
            try:
                rows.append(self._buffer.get_nowait())
            except queue.Empty:
                break
        return rows

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self.db.session() as session:
            session.execute(insert(Analysis), rows)
        self.written += len(rows)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            self.flush()
        self.flush()

    def flush(self) -> None:
        while rows := self._drain():
            try:
                self._write(rows)
            except Exception as exc:
                # Keep the rows: put them back and try again on the next tick.
                log.error("verdict write failed; will retry", error_type=type(exc).__name__, rows=len(rows))
                for row in rows:
                    self._buffer.put(row)
                return

    def close(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
