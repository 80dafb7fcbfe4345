"""Real servers for tests: uvicorn in a thread, free loopback ports, and Debian-packaged binaries."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import uvicorn

__all__ = [
    "PostgresServer",
    "RedisServer",
    "free_port",
    "postgres_bindir",
    "redis_command",
    "require_binary",
    "serve_app",
    "wait_until_serving",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_app(app: Any, *, lifespan: str = "on") -> Iterator[str]:
    """Serve an ASGI app with a real uvicorn server on 127.0.0.1; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def require_binary(name: str, *candidates: str) -> str:
    """The path of a server binary; a missing one fails under CI=true and skips elsewhere."""
    for candidate in (shutil.which(name), *candidates):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = f"{name} is not installed (make test installs it when run as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


# --- Debian-packaged servers: redis-server and PostgreSQL --------------------------------------

_LOG_TAIL_CHARS = 4000
_PORT_ATTEMPTS = 3  # free_port() can race with another process; a first start retries on a new port


def _log_tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    return text[-_LOG_TAIL_CHARS:] or "<empty log>"


def _spawn(args: list[str], log_path: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a server with stdout and stderr appended to ``log_path``; the parent keeps no handle open."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )


def _stop_process(process: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def redis_command(port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one command to Redis on 127.0.0.1 and return its one-line reply (e.g. ``b"+PONG"``)."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"".join(parts))
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.rstrip(b"\r\n")


class RedisServer:
    """A real ``redis-server`` on 127.0.0.1; ``stop()``/``start()`` keep the port so clients can reconnect.

    Without ``appendonly`` nothing is persisted, so data is gone after a restart; with it, data survives.
    """

    def __init__(self, binary: str, *, appendonly: bool = False) -> None:
        self.binary = binary
        self.appendonly = appendonly
        self.dir = Path(tempfile.mkdtemp(prefix="securenet-redis-"))
        self.log_path = self.dir / "redis.log"
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._started = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server (a no-op when running) and wait until it answers PING."""
        if self.running:
            return self
        attempts = 1 if self._started else _PORT_ATTEMPTS
        for attempt in range(attempts):
            try:
                self._start_once(timeout)
            except RuntimeError:
                if attempt + 1 < attempts and "Address already in use" in _log_tail(self.log_path):
                    self.port = free_port()
                    continue
                raise
            self._started = True
            return self
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> None:
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--dir", str(self.dir),
            "--daemonize", "no",
        ]  # fmt: skip
        process = self._process = _spawn(args, self.log_path)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                self._process = None
                raise RuntimeError(
                    f"redis-server exited with {process.returncode}; log tail:\n{_log_tail(self.log_path)}"
                )
            try:
                if redis_command(self.port, "PING", timeout=1.0) == b"+PONG":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"redis-server did not answer PING in {timeout}s; log tail:\n{_log_tail(self.log_path)}"
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server and wait for it (a no-op when stopped); the port stays reserved for ``start``."""
        process, self._process = self._process, None
        if process is not None:
            _stop_process(process, signal.SIGTERM, timeout)

    def flushall(self) -> None:
        reply = redis_command(self.port, "FLUSHALL")
        if reply != b"+OK":
            raise RuntimeError(f"FLUSHALL failed: {reply!r}")

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _postgres_major(initdb: str) -> tuple[int, str]:
    version = Path(initdb).parent.parent.name  # /usr/lib/postgresql/<major>/bin/initdb
    return (int(version) if version.isdigit() else -1, version)


def postgres_bindir() -> Path:
    """The directory holding ``initdb`` and ``postgres``: on Debian the newest ``/usr/lib/postgresql/<major>/bin``.

    A missing installation fails under CI=true and skips elsewhere (see :func:`require_binary`).
    """
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_postgres_major, reverse=True)
    candidates = [*debian, *glob.glob("/usr/local/pgsql/bin/initdb")]
    # Debian keeps initdb off PATH; prefer its versioned directory over any initdb on PATH.
    initdb = next((c for c in candidates if os.access(c, os.X_OK)), None) or require_binary("initdb")
    bindir = Path(initdb).parent
    require_binary(str(bindir / "postgres"))
    return bindir


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 with trust auth for user ``postgres``, tuned for speed.

    As root, ``initdb`` and ``postgres`` (which refuse to run as root) run as the ``postgres`` system user,
    and the cluster lives in a fresh directory under /tmp owned by that user.
    """

    def __init__(self, bindir: Path, *, run_as: str | None = None) -> None:
        self.bindir = bindir
        self._user: pwd.struct_passwd | None = None
        if run_as is None and os.geteuid() == 0:
            run_as = "postgres"
        if run_as is not None:
            try:
                self._user = pwd.getpwnam(run_as)
            except KeyError:
                raise RuntimeError(
                    f"PostgreSQL refuses to run as root and there is no {run_as!r} user to run it as"
                ) from None
        self.dir = Path(tempfile.mkdtemp(prefix="securenet-pg-", dir="/tmp" if self._user else None))
        self.data_dir = self.dir / "data"
        self.socket_dir = self.dir / "socket"
        self.log_path = self.dir / "postgres.log"
        self.socket_dir.mkdir()
        if self._user is not None:
            for path in (self.dir, self.socket_dir):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._initialized = False

    # -- addresses --------------------------------------------------------------------------------

    def database_url(self, name: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of database ``name``."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def conninfo(self, name: str = "postgres") -> str:
        """libpq URL of database ``name``, for ``psycopg.connect``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle --------------------------------------------------------------------------------

    def _run_kwargs(self) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        kwargs: dict[str, Any] = {"cwd": self.dir, "env": env}
        if self._user is not None:
            env.update(HOME=str(self.dir), USER=self._user.pw_name, LOGNAME=self._user.pw_name)
            kwargs.update(user=self._user.pw_uid, group=self._user.pw_gid, extra_groups=[])
        return kwargs

    def initdb(self) -> None:
        args = [
            str(self.bindir / "initdb"),
            "-D", str(self.data_dir),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        ]  # fmt: skip
        result = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self._run_kwargs(),
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-_LOG_TAIL_CHARS:]
            raise RuntimeError(f"initdb exited with {result.returncode}:\n{output}")
        self._initialized = True

    def start(self, timeout: float = 30.0) -> PostgresServer:
        """Create the cluster if needed, start ``postgres`` and wait until it accepts connections."""
        if self.running:
            return self
        if not self._initialized:
            self.initdb()
        for attempt in range(_PORT_ATTEMPTS):
            try:
                self._start_once(timeout)
            except RuntimeError:
                if attempt + 1 < _PORT_ATTEMPTS and "could not bind" in _log_tail(self.log_path):
                    self.port = free_port()
                    continue
                raise
            return self
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> None:
        import psycopg

        args = [
            str(self.bindir / "postgres"),
            "-D", str(self.data_dir),
            "-p", str(self.port),
            "-h", "127.0.0.1",
            "-k", str(self.socket_dir),
            "-c", "fsync=off",
            "-c", "full_page_writes=off",
            "-c", "synchronous_commit=off",
            "-c", "logging_collector=off",
        ]  # fmt: skip
        process = self._process = _spawn(args, self.log_path, **self._run_kwargs())
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                self._process = None
                raise RuntimeError(f"postgres exited with {process.returncode}; log tail:\n{_log_tail(self.log_path)}")
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"postgres did not accept connections in {timeout}s; log tail:\n{_log_tail(self.log_path)}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT, as ``pg_ctl stop -m fast``): clients are disconnected, the cluster is kept."""
        process, self._process = self._process, None
        if process is not None:
            _stop_process(process, signal.SIGINT, timeout)

    def close(self) -> None:
        """Stop the server and remove the cluster."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- databases --------------------------------------------------------------------------------

    def execute(self, statement: Any, *, dbname: str = "postgres") -> None:
        """Run one statement with autocommit (for CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name`` and return its SQLAlchemy URL."""
        from psycopg import sql

        self.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting any clients still attached to it."""
        from psycopg import sql

        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def wait_until_serving(url: str, process: subprocess.Popen[Any] | None = None, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers; fail early with the process's stderr if it exited."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if process is not None and process.poll() is not None:
                stderr = process.stderr.read() if process.stderr else ""
                raise RuntimeError(f"{url}: the server exited ({process.returncode}): {stderr}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f}s") from None
            time.sleep(0.2)
