"""Pytest fixtures for real Redis and PostgreSQL servers (Debian packages) on free 127.0.0.1 ports.

A session starts each server once; the function-scoped fixtures hand every test a clean slate:

* ``redis_server`` -> :class:`~tests.servers.RedisServer` (``.url``, ``.port``, ``.stop()``, ``.start()``)
* ``redis_url``    -> ``redis://127.0.0.1:PORT/0``, FLUSHALLed (and restarted if a test stopped it)
* ``postgres_server`` -> :class:`~tests.servers.PostgresServer` (``.url``, ``.port``, ``.create_database()``)
* ``postgres_url`` -> SQLAlchemy URL of a fresh database, dropped after the test

A missing server binary fails the run under CI=true and skips the test elsewhere.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from tests.servers import PostgresServer, RedisServer, postgres_bindir, require_binary

__all__ = ["postgres_server", "postgres_url", "redis_server", "redis_url"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One ``redis-server`` for the session (no persistence), answering PING."""
    server = RedisServer(require_binary("redis-server", "/usr/bin/redis-server"))
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session Redis, running and empty."""
    redis_server.start()  # a no-op unless an earlier test stopped it
    redis_server.flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session (initdb once), accepting connections."""
    server = PostgresServer(postgres_bindir())
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL of a new database for this test; dropped (clients disconnected) afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:40]
    name = f"t_{slug}_{uuid.uuid4().hex[:8]}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
