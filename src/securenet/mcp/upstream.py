"""Upstream MCP servers: what one is (``UpstreamSpec``) and a supervised session to it (``UpstreamConnection``).

Each upstream lives on its own: a supervisor task owns its SDK ``Client`` and keeps it
connected. When the upstream is unreachable at start, crashes, restarts, or drops an
answer mid-body, only that upstream's clients notice: they get a JSON-RPC error naming
the upstream, one line is logged, and the supervisor reconnects with capped exponential
backoff (a stdio upstream's process is started again the same way). Nothing in an
upstream's life reaches the caller's task group or the application's lifespan.

A connection is lost when a call fails at the transport (``CONNECTION_CLOSED``) or a
health-check ping goes unanswered; any other failure of a call triggers an immediate
ping, so an upstream that lies or answers garbage is not reconnected for nothing.
"""

from __future__ import annotations

import contextlib
import math
import re
import shlex
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import anyio
import mcp.types as types
import structlog
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.server.subscriptions import PromptsListChanged, ResourcesListChanged, ToolsListChanged
from mcp.shared.exceptions import MCPError

from securenet.telemetry import get_tracer

__all__ = ["UPSTREAM_UNAVAILABLE_CODE", "UpstreamConnection", "UpstreamSpec", "UpstreamStatus"]

log = structlog.get_logger("securenet.mcp")

#: JSON-RPC error code for "this upstream cannot be reached now" (implementation-defined server error range).
UPSTREAM_UNAVAILABLE_CODE = -32011

#: ``up``: connected. ``reconnecting``: a connection attempt is under way. ``down``: the last attempt
#: failed (or the connection was lost) and the next one waits out its backoff.
UpstreamStatus = Literal["up", "down", "reconnecting"]

_T = TypeVar("_T")
#: What an upstream announces changed; the gateway passes it on to its own clients.
ListChanged = ToolsListChanged | ResourcesListChanged | PromptsListChanged
#: ``subscriptions/listen`` events (the client's own classes) by name -> the event the gateway publishes.
_LIST_CHANGED: dict[str, type[ListChanged]] = {
    "ToolsListChanged": ToolsListChanged,
    "ResourcesListChanged": ResourcesListChanged,
    "PromptsListChanged": PromptsListChanged,
}
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


@dataclass(frozen=True)
class UpstreamSpec:
    """``NAME=URL`` or ``NAME=stdio:COMMAND ARGS...`` from the command line or settings."""

    name: str
    url: str | None = None
    command: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> UpstreamSpec:
        name, sep, target = text.partition("=")
        name = name.strip()
        if not sep or not name or not target.strip():
            raise ValueError(f"upstream {text!r} is not NAME=URL or NAME=stdio:COMMAND")
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"upstream name {name!r} may only use letters, digits, - and _")
        target = target.strip()
        if target.startswith("stdio:"):
            command = tuple(shlex.split(target.removeprefix("stdio:")))
            if not command:
                raise ValueError(f"upstream {name!r}: stdio: needs a command")
            return cls(name, command=command)
        if not target.startswith(("http://", "https://")):
            raise ValueError(f"upstream {name!r}: {target!r} is neither an http(s) URL nor stdio:COMMAND")
        return cls(name, url=target)

    def describe(self) -> str:
        return self.url or "stdio:" + shlex.join(self.command)


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of the first real error inside ``exc`` (exception groups unwrapped), without
    URL credentials, at most 200 characters: safe for logs, ``/health`` and client error messages."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        text = f"{type(exc).__name__} {exc.error.code}: {exc.error.message}"
    else:
        message = str(exc)
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return _USERINFO.sub("***@", text)[:200]


class UpstreamConnection:
    """One supervised client session to an upstream, shared by every downstream session.

    ``supervise()`` runs for the life of the gateway (in its task group) and never raises;
    ``call()`` runs one request on the current session or raises an ``MCPError`` naming the
    upstream. ``listeners`` hear the upstream's list-changed events, and a reconnect counts as
    one (the tools may have changed while the upstream was away, so they are judged again).
    """

    def __init__(
        self,
        spec: UpstreamSpec,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        mode: str | None = None,
        connect_timeout: float = 10.0,
        ping_interval: float = 10.0,
        ping_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self.spec = spec
        #: "auto" (2026-07-28 when the upstream offers it, else the initialize handshake) or
        #: "legacy" (always the handshake). HTTP upstreams default to "auto" because it is the
        #: only era in which the SDK client keeps its connection: a handshake-era upstream answers
        #: over SSE, and the client closes each SSE response as soon as the result arrives, before
        #: the chunked body ends, so httpcore drops the connection and every call pays a new TCP
        #: connect. A 2026-07-28 answer is a plain JSON body, read to the end, and the connection
        #: goes back to the pool. stdio has no connection to keep and stays on the handshake.
        self.mode = mode or ("auto" if spec.url is not None else "legacy")
        self.cwd = cwd
        self.env = dict(env) if env else None
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.client: Client | None = None
        self.listeners: list[Callable[[ListChanged], Awaitable[None]]] = []
        self.status: UpstreamStatus = "down"
        self.last_error: str | None = None
        #: time.time() of the last status change, of the last successful connect
        self.since = time.time()
        #: connections made so far (1 after the first connect, +1 per reconnect)
        self.connections = 0
        self.next_attempt_at: float | None = None
        self._lost = anyio.Event()
        self._check = anyio.Event()
        #: set whenever no connection attempt is under way (status is "up" or "down")
        self.settled = anyio.Event()
        #: set once the first connection attempt has ended, either way
        self.first_attempt = anyio.Event()

    # -- what others see ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The upstream's state for ``/health`` and ``/ready`` (no URL: it may carry credentials)."""
        out: dict[str, Any] = {
            "status": self.status,
            "transport": "http" if self.spec.url is not None else "stdio",
            "since": _iso(self.since),
            "last_error": self.last_error,
            "connections": self.connections,
        }
        if self.status == "down" and self.next_attempt_at is not None:
            out["retry_in_s"] = round(max(0.0, self.next_attempt_at - time.monotonic()), 1)
        return out

    def unavailable(self) -> MCPError:
        detail = f"; last error: {self.last_error}" if self.last_error else ""
        return MCPError(
            UPSTREAM_UNAVAILABLE_CODE,
            f"upstream {self.spec.name!r} is unavailable ({self.status}{detail})",
            data={"upstream": self.spec.name, "status": self.status},
        )

    async def require(self) -> Client:
        """The connected client; a request that arrives during a connection attempt waits for it
        (at most the connect timeout), one that arrives while the upstream is down fails at once."""
        if self.status == "reconnecting":
            with anyio.move_on_after(self.connect_timeout):
                await self.settled.wait()
        if self.client is None or self.status != "up":
            raise self.unavailable()
        return self.client

    async def call(self, operation: Callable[[Client], Awaitable[_T]]) -> _T:
        """Run one request on the current session; failures become an ``MCPError`` naming the upstream."""
        client = await self.require()
        try:
            return await operation(client)
        except MCPError as exc:
            if exc.error.code != types.CONNECTION_CLOSED:
                raise  # the upstream's own JSON-RPC error: forward it
            self._lose(client, exc)
            raise self.unavailable() from None
        except Exception as exc:
            # A transport failure, a broken stream or an answer that does not parse: check now
            # whether the upstream is still there rather than wait for the next ping.
            self._check.set()
            log.warning("upstream request failed", upstream=self.spec.name, error=describe_error(exc))
            raise MCPError(
                UPSTREAM_UNAVAILABLE_CODE,
                f"upstream {self.spec.name!r} failed to answer: {describe_error(exc)}",
                data={"upstream": self.spec.name, "status": self.status},
            ) from None

    # -- the supervisor -----------------------------------------------------------------------

    async def supervise(self) -> None:
        """Connect, keep connected, reconnect with capped exponential backoff; runs until cancelled."""
        delay = self.backoff_initial
        while True:
            self._set("reconnecting")
            before = self.connections
            try:
                await self._connect_and_serve()
            except Exception as exc:  # every failure of this upstream ends here, never above
                self._failed(exc)
            finally:
                self.client = None
            if self.connections > before:
                delay = self.backoff_initial  # it was up: the first retry comes soon
            self.next_attempt_at = time.monotonic() + delay
            self._set("down")
            await anyio.sleep(delay)
            self.next_attempt_at = None
            delay = min(delay * 2, self.backoff_max)

    async def _connect_and_serve(self) -> None:
        """One connection's life: returns or raises when it is lost (or could not be made)."""
        self._lost = anyio.Event()
        self._check = anyio.Event()
        target: Any = self.spec.url
        if target is None:
            target = StdioServerParameters(
                command=self.spec.command[0], args=list(self.spec.command[1:]), env=self.env, cwd=self.cwd
            )
        # One cancel scope for the whole session: its deadline bounds the handshake and is lifted once
        # connected (the client's task groups live inside it, so it must outlive them, not end first).
        with anyio.CancelScope(deadline=anyio.current_time() + self.connect_timeout) as scope:
            async with contextlib.AsyncExitStack() as stack:
                with get_tracer(__name__).start_as_current_span(
                    "mcp.gateway.connect", attributes={"securenet.mcp.upstream": self.spec.name}
                ):
                    # No response cache: a cached tools/list would hide a changed (rug-pulled) definition.
                    client = await stack.enter_async_context(
                        Client(target, mode=cast(Any, self.mode), message_handler=self._on_message, cache=None)
                    )
                scope.deadline = math.inf
                self.client = client
                self.connections += 1
                self.last_error = None
                self._set("up")
                log.info("upstream connected", upstream=self.spec.name, connections=self.connections)
                if self.connections > 1:
                    await self._dispatch(ToolsListChanged())  # judge the definitions again
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(self._listen, client)
                    tasks.start_soon(self._health_check, client)
                    await self._lost.wait()
                    tasks.cancel_scope.cancel()
                self.client = None
        if scope.cancelled_caught:
            raise TimeoutError(f"no answer to the handshake within {self.connect_timeout:g} s")

    async def _health_check(self, client: Client) -> None:
        while True:
            with anyio.move_on_after(self.ping_interval):
                await self._check.wait()
            self._check = anyio.Event()
            try:
                with anyio.fail_after(self.ping_timeout):
                    await client.session.send_ping()
            except MCPError as exc:
                if exc.error.code == types.CONNECTION_CLOSED:
                    self._lose(client, exc)
                    return
                # Any other JSON-RPC error is an answer: the upstream is there.
            except Exception as exc:
                self._lose(client, exc)
                return

    def _lose(self, client: Client, exc: BaseException) -> None:
        if client is not self.client or self._lost.is_set():
            return  # an older session, or already being replaced
        self.last_error = describe_error(exc)
        log.warning("upstream connection lost; reconnecting", upstream=self.spec.name, error=self.last_error)
        self._lost.set()

    def _failed(self, exc: BaseException) -> None:
        error = describe_error(exc)
        if self.status == "up" or error != self.last_error:  # one line per new problem, not per retry
            log.warning("upstream unavailable; retrying", upstream=self.spec.name, error=error)
        self.last_error = error

    def _set(self, status: UpstreamStatus) -> None:
        if status != self.status:
            self.status = status
            self.since = time.time()
            if status == "reconnecting":
                self.settled = anyio.Event()
            else:
                self.settled.set()
                self.first_attempt.set()

    async def _listen(self, client: Client) -> None:
        from mcp.client.subscriptions import ListenNotSupportedError

        delay = 0.5
        while True:
            try:
                async with client.listen(
                    tools_list_changed=True, prompts_list_changed=True, resources_list_changed=True
                ) as subscription:
                    delay = 0.5
                    async for event in subscription:
                        kind = _LIST_CHANGED.get(type(event).__name__)
                        if kind is not None:
                            await self._dispatch(kind())
            except ListenNotSupportedError:
                return  # a handshake-era upstream: notifications arrive through _on_message
            except Exception as exc:
                self._check.set()  # a lost stream may be a lost upstream
                log.info(
                    "upstream change stream lost; listening again",
                    upstream=self.spec.name,
                    error_type=type(exc).__name__,
                    retry_in_s=delay,
                )
            await anyio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            await self._dispatch(ToolsListChanged())
        elif isinstance(message, types.ResourceListChangedNotification):
            await self._dispatch(ResourcesListChanged())
        elif isinstance(message, types.PromptListChangedNotification):
            await self._dispatch(PromptsListChanged())
        elif isinstance(message, Exception):
            self._check.set()
            log.info("upstream transport error", upstream=self.spec.name, error_type=type(message).__name__)

    async def _dispatch(self, kind: ListChanged) -> None:
        for listener in self.listeners:
            try:
                await listener(kind)
            except Exception as exc:  # a listener's failure is not the upstream's
                log.warning("list-changed listener failed", upstream=self.spec.name, error=describe_error(exc))


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
