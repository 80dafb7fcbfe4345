"""The Redis and PostgreSQL fixtures start real servers on 127.0.0.1 and isolate tests from each other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
import sqlalchemy as sa
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests import server_fixtures
from tests.servers import PostgresServer, RedisServer, require_binary

# Visible here whether or not conftest.py imports them too.
redis_server = server_fixtures.redis_server
redis_url = server_fixtures.redis_url
postgres_server = server_fixtures.postgres_server
postgres_url = server_fixtures.postgres_url


@contextmanager
def redis_client(url: str) -> Iterator[redis.Redis]:
    # No retries: a stopped server must fail at once instead of backing off.
    with redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), socket_timeout=5) as client:
        yield client


@contextmanager
def engine_for(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


# --- Redis -----------------------------------------------------------------------------------------


def test_redis_url_is_loopback(redis_server: RedisServer, redis_url: str) -> None:
    assert redis_url == f"redis://127.0.0.1:{redis_server.port}/0"


def test_redis_ping_set_get(redis_url: str) -> None:
    with redis_client(redis_url) as client:
        assert client.ping() is True
        assert client.set("greeting", "hello") is True
        assert client.get("greeting") == b"hello"
        assert client.incr("counter") == 1


def test_redis_url_starts_empty(redis_url: str) -> None:
    with redis_client(redis_url) as client:
        client.set("leftover", "1")
    with redis_client(redis_url) as client:
        assert client.dbsize() == 1


def test_redis_url_flushes_between_tests(redis_url: str) -> None:
    with redis_client(redis_url) as client:
        assert client.dbsize() == 0  # the keys of the tests above are gone


def test_redis_stop_and_start_on_the_same_port(redis_server: RedisServer, redis_url: str) -> None:
    port = redis_server.port
    with redis_client(redis_url) as client:
        assert client.ping() is True
        redis_server.stop()
        assert not redis_server.running
        with pytest.raises(redis.ConnectionError):
            client.ping()
        redis_server.start()
        assert redis_server.port == port
        assert redis_server.url == redis_url
        assert client.ping() is True  # the same client reconnects
        assert client.get("greeting") is None  # nothing is persisted across a restart


def test_redis_left_stopped_by_a_test(redis_server: RedisServer) -> None:
    redis_server.stop()
    assert not redis_server.running


def test_redis_url_restarts_a_stopped_server(redis_server: RedisServer, redis_url: str) -> None:
    assert redis_server.running
    with redis_client(redis_url) as client:
        assert client.ping() is True


def test_redis_appendonly_survives_restart() -> None:
    binary = require_binary("redis-server", "/usr/bin/redis-server")
    with RedisServer(binary, appendonly=True) as server, redis_client(server.url) as client:
        client.set("durable", "yes")
        server.stop()
        server.start()
        assert client.get("durable") == b"yes"
    assert not server.dir.exists()


def test_redis_start_failure_reports_the_log(tmp_path: Path) -> None:
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'bad config: boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    server = RedisServer(str(fake))
    try:
        with pytest.raises(RuntimeError, match=r"(?s)exited with 3.*bad config: boom"):
            server.start()
    finally:
        server.close()


# --- PostgreSQL ------------------------------------------------------------------------------------


def test_postgres_server_url(postgres_server: PostgresServer) -> None:
    assert postgres_server.url == f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/postgres"
    with engine_for(postgres_server.url) as engine, engine.connect() as conn:
        assert conn.execute(sa.text("SHOW fsync")).scalar_one() == "off"
        assert conn.execute(sa.text("SHOW synchronous_commit")).scalar_one() == "off"
        assert conn.execute(sa.text("SHOW listen_addresses")).scalar_one() == "127.0.0.1"


def test_postgres_table_round_trip(postgres_url: str) -> None:
    with engine_for(postgres_url) as engine:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)"))
            conn.execute(sa.text("INSERT INTO items (name) VALUES (:a), (:b)"), {"a": "alpha", "b": "beta"})
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, name FROM items ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, "alpha"), (2, "beta")]


@pytest.mark.parametrize("run", [1, 2])
def test_postgres_url_is_a_fresh_database(postgres_url: str, run: int) -> None:
    # Both runs create the same table: the second would fail if the database were shared.
    with engine_for(postgres_url) as engine, engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one() == 0
        conn.execute(sa.text("CREATE TABLE marker (run int)"))
        conn.execute(sa.text("INSERT INTO marker VALUES (:run)"), {"run": run})


def test_postgres_databases_are_independent(postgres_server: PostgresServer, postgres_url: str) -> None:
    other_url = postgres_server.create_database("independent_other")
    try:
        assert other_url != postgres_url
        with engine_for(postgres_url) as first, engine_for(other_url) as second:
            with first.begin() as conn:
                conn.execute(sa.text("CREATE TABLE t (v text)"))
                conn.execute(sa.text("INSERT INTO t VALUES ('first')"))
            with second.begin() as conn:
                conn.execute(sa.text("CREATE TABLE t (v text)"))
                conn.execute(sa.text("INSERT INTO t VALUES ('second')"))
            with first.connect() as conn:
                assert conn.execute(sa.text("SELECT v FROM t")).scalars().all() == ["first"]
            with second.connect() as conn:
                assert conn.execute(sa.text("SELECT v FROM t")).scalars().all() == ["second"]
    finally:
        postgres_server.drop_database("independent_other")


def test_postgres_drop_database_disconnects_clients(postgres_server: PostgresServer) -> None:
    postgres_server.create_database("dropped_db")
    with psycopg.connect(postgres_server.conninfo("dropped_db")) as held:
        postgres_server.drop_database("dropped_db")  # WITH (FORCE) despite the open connection
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")
    with psycopg.connect(postgres_server.conninfo()) as conn:
        exists = conn.execute("SELECT count(*) FROM pg_database WHERE datname = 'dropped_db'").fetchone()
    assert exists == (0,)
