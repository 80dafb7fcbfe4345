"""The composition root: the one place that turns :class:`~securenet.config.Settings` into running parts.

Every process gets its parts here and nowhere else:

- ``securenet serve`` and ``securenet mcp-gateway`` build :class:`Services` in their app's
  lifespan, once per server process (``securenet.api.app.build_app``);
- ``securenet worker`` builds them and drains the queue with a ``StreamWorker``;
- the CLI commands that read or write the database open it with :func:`open_database`.

What is built, in order (each part needs the ones above it)::

    database        SQLite migrated on start; PostgreSQL with `securenet db upgrade`
    queue, limiter  Redis Streams and a Redis window with SECURENET_REDIS_URL, else in process
    models          the tenants' signed model files under the model directory
    policies        the tenant's own MCP policy, else SECURENET_MCP_POLICY_FILE, else the default
    orchestrator    every analysis, network or MCP, goes through it

:meth:`Services.close` releases them in reverse: verdicts still buffered are written before
the database goes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from securenet.config import Settings
from securenet.store.database import Database

if TYPE_CHECKING:
    # Imported where they are built: the analysis stack (pandas, scikit-learn) takes seconds to
    # import, and the CLI's database commands need none of it.
    from securenet.ingest import FlowQueue
    from securenet.orchestrator import ModelRegistry, PolicyProvider, SecurityOrchestrator
    from securenet.ratelimit import RateLimiter
    from securenet.worker import StreamWorker

__all__ = ["MissingDatabaseError", "Services", "open_database"]


class MissingDatabaseError(LookupError):
    """The SQLite file a command should read does not exist (and was not created)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no database at {path}")
        self.path = path


def open_database(settings: Settings, *, create: bool = True, migrate: bool | None = None) -> Database:
    """The configured database, at the newest schema when asked.

    ``create=False`` refuses a SQLite file that does not exist yet (:class:`MissingDatabaseError`)
    instead of creating it: a command that reads would answer every question from a new, empty
    database. ``migrate``: ``True`` upgrades to the newest schema, ``False`` leaves the schema as
    it is, ``None`` (servers) upgrades SQLite only; PostgreSQL is upgraded once per release with
    ``securenet db upgrade``.
    """
    url = make_url(settings.effective_database_url)  # validated by Settings
    path = url.database if url.get_backend_name() == "sqlite" else None
    if not create and path and path != ":memory:" and not Path(path).exists():
        raise MissingDatabaseError(Path(path).resolve())
    db = Database(settings.effective_database_url)
    try:
        if migrate or (migrate is None and db.is_sqlite):
            db.upgrade()
    except BaseException:
        db.dispose()
        raise
    return db


@dataclass(frozen=True, eq=False)
class Services:
    """Everything a process needs to serve, built from the settings by :meth:`build`."""

    settings: Settings
    db: Database
    queue: FlowQueue
    limiter: RateLimiter
    models: ModelRegistry
    policies: PolicyProvider
    orchestrator: SecurityOrchestrator

    @classmethod
    def build(cls, settings: Settings) -> Services:
        from securenet.ingest import InProcessQueue, RedisStreamQueue
        from securenet.orchestrator import ModelRegistry, PolicyProvider, SecurityOrchestrator
        from securenet.ratelimit import InProcessRateLimiter, RedisRateLimiter

        db = open_database(settings)
        try:
            queue: FlowQueue
            limiter: RateLimiter
            if settings.redis_url:
                import redis

                from securenet.telemetry import instrument_redis

                instrument_redis()
                queue = RedisStreamQueue(
                    settings.redis_url,
                    max_len=settings.stream_max_len,
                    max_deliveries=settings.stream_max_deliveries,
                )
                limiter = RedisRateLimiter(redis.Redis.from_url(settings.redis_url, socket_timeout=2))
            else:
                queue = InProcessQueue(max_len=settings.stream_max_len, max_deliveries=settings.stream_max_deliveries)
                limiter = InProcessRateLimiter()
        except BaseException:
            db.dispose()
            raise
        models = ModelRegistry(db, settings.effective_model_dir, settings.model_key_bytes())
        policies = PolicyProvider(db, settings.mcp_policy_file)
        orchestrator = SecurityOrchestrator(db, models, policies=policies)
        return cls(settings, db, queue, limiter, models, policies, orchestrator)

    @property
    def shared_queue(self) -> bool:
        """Whether other processes (``securenet worker``) drain the queue: it is in Redis."""
        return self.settings.redis_url is not None

    @contextlib.contextmanager
    def embedded_worker(self) -> Iterator[StreamWorker | None]:
        """Without Redis nothing else can drain the in-process queue: a worker thread here does.

        Yields the running worker, or None when the queue is shared; the worker stops on exit.
        """
        from securenet.worker import StreamWorker

        if self.shared_queue:
            yield None
            return
        worker = StreamWorker(self.queue, self.orchestrator, name="embedded")
        worker.start_thread()
        try:
            yield worker
        finally:
            worker.stop()

    def close(self) -> None:
        """Release everything, in reverse order of building: buffered verdicts are written first."""
        try:
            self.orchestrator.close()
            self.queue.close()
        finally:
            self.db.dispose()

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
