"""Executable versions of the SDK 2.3 patterns documented in docs/notes/mcp-sdk.md (gateway building blocks)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
import mcp.shared._otel
import mcp.types as types
import pytest
from fastapi import FastAPI
from mcp.client.client import Client
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.session import ServerSession
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.routing import Route

from tests.mcp.upstream.harness import reset_mcp_sdk_tracer, uvicorn_in_thread
from tests.mcp.upstream.server import CALLS, build_server

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACE_META = cast(types.RequestParamsMeta, {"traceparent": TRACEPARENT})


@pytest.fixture(autouse=True)
def _fresh_sdk_tracer() -> None:
    reset_mcp_sdk_tracer()
    CALLS.clear()


# ---- a minimal "gateway-shaped" downstream server -------------------------------------------------------------


class ListChangedServer(Server[Any]):
    """The HTTP session manager calls create_initialization_options() with no arguments: override the default."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        options = notification_options or NotificationOptions(tools_changed=True)
        return super().create_initialization_options(options, experimental_capabilities, extensions)


class Downstream:
    def __init__(self, name: str) -> None:
        self.seen: list[dict[str, Any]] = []
        self.sessions: dict[str, ServerSession] = {}  # Mcp-Session-Id -> latest ServerSession
        self.bus = InMemorySubscriptionBus()
        self.server = ListChangedServer(
            name,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            on_subscriptions_listen=ListenHandler(self.bus),
            get_tool_input_schema=lambda tool: {"type": "object"} if tool == "echo" else None,
        )
        self.server.middleware.append(self.policy)

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(name="echo", input_schema={"type": "object"})])

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name != "echo":
            raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {params.name}")
        text = (params.arguments or {}).get("text")
        if not isinstance(text, str):
            return types.CallToolResult(content=[types.TextContent(type="text", text="text required")], is_error=True)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])

    async def policy(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is not None:
            session_id = ctx.request.headers.get("mcp-session-id") if ctx.request is not None else None
            self.seen.append({"method": ctx.method, "meta": dict(ctx.meta or {}), "session_id": session_id})
            if session_id is not None:
                self.sessions[session_id] = ctx.session
            if ctx.method == "tools/call" and (ctx.params or {}).get("name") == "forbidden":
                raise MCPError(code=types.INVALID_REQUEST, message="blocked by policy")
        return await call_next(ctx)


def make_app(downstreams: dict[str, Downstream]) -> FastAPI:
    """One streamable-HTTP endpoint per name at /mcp/NAME; managers are built per app (run() works only once)."""
    security = TransportSecuritySettings(
        allowed_hosts=["127.0.0.1:*", "localhost:*"], allowed_origins=["http://127.0.0.1:*", "http://localhost:*"]
    )
    managers = {
        name: StreamableHTTPSessionManager(app=d.server, security_settings=security) for name, d in downstreams.items()
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for manager in managers.values():
                await stack.enter_async_context(manager.run())
            yield

    app = FastAPI(lifespan=lifespan)
    for name, manager in managers.items():
        # Route, not Mount: Mount("/mcp/x") answers POST /mcp/x with a 307 to /mcp/x/.
        app.router.routes.append(Route(f"/mcp/{name}", endpoint=StreamableHTTPASGIApp(manager)))
    return app


async def test_fastapi_subpath_endpoints_serve_both_eras() -> None:
    downstreams = {"alpha": Downstream("alpha"), "beta": Downstream("beta")}
    alpha = downstreams["alpha"]
    received: list[Any] = []

    async def on_message(message: Any) -> None:
        received.append(message)

    with uvicorn_in_thread(make_app(downstreams)) as port:
        url = f"http://127.0.0.1:{port}/mcp/alpha"
        async with Client(url, mode="legacy", message_handler=on_message) as client:
            assert client.protocol_version == "2025-11-25"
            assert client.server_capabilities.tools == types.ToolsCapability(list_changed=True)
            ok = await client.call_tool("echo", {"text": "hi"}, meta=TRACE_META)
            assert not ok.is_error
            assert (await client.call_tool("echo", {})).is_error
            with pytest.raises(MCPError) as blocked:
                await client.call_tool("forbidden", {})
            assert (blocked.value.code, blocked.value.message) == (types.INVALID_REQUEST, "blocked by policy")
            # Outside any request: push on the standalone (GET SSE) channel of every known session. The GET stream
            # attaches asynchronously after `notifications/initialized`, so retry until it is there.
            for _ in range(20):
                for session in list(alpha.sessions.values()):
                    await session.send_tool_list_changed()
                await anyio.sleep(0.25)
                if received:
                    break
            assert any(isinstance(m, types.ToolListChangedNotification) for m in received)

        async with Client(url) as client:  # mode="auto" -> server/discover -> 2026-07-28, no session id
            assert client.protocol_version == "2026-07-28"
            async with client.listen(tools_list_changed=True) as subscription:
                await alpha.bus.publish(ToolsListChanged())
                with anyio.fail_after(10):
                    event = await subscription.__anext__()
                assert isinstance(event, ToolsListChanged)
            await client.call_tool("echo", {"text": "x"}, meta=TRACE_META)

    assert downstreams["beta"].seen == []
    legacy = [s for s in alpha.seen if s["method"] == "tools/call" and s["session_id"] is not None]
    assert legacy[0]["meta"] == {"traceparent": TRACEPARENT}
    modern = [s for s in alpha.seen if s["method"] == "tools/call" and s["session_id"] is None]
    assert modern[-1]["meta"]["traceparent"] == TRACEPARENT
    assert modern[-1]["meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    # get_tool_input_schema is set, so the 2026 HTTP path did not run tools/list internally for Mcp-Param checks.
    assert [s["method"] for s in alpha.seen if s["session_id"] is None].count("tools/list") <= 1


async def test_unhandled_exception_text_reaches_legacy_clients() -> None:
    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(name="boom", input_schema={"type": "object"})])

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> Any:
        raise RuntimeError("db password is hunter2")

    server: Server[Any] = Server("boom", on_list_tools=list_tools, on_call_tool=call_tool)
    outcomes = []
    for mode in ("legacy", "auto"):
        async with Client(server, mode=mode) as client:
            await client.list_tools()
            with pytest.raises(MCPError) as err:
                await client.call_tool("boom", {})
            outcomes.append((client.protocol_version, err.value.code, err.value.message))
    assert outcomes == [
        ("2025-11-25", 0, "db password is hunter2"),  # handshake era: code 0 + str(exc) on the wire
        ("2026-07-28", types.INTERNAL_ERROR, "Internal server error"),
    ]


async def test_trace_context_chains_through_a_forwarding_server(monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(mcp.shared._otel, "_tracer", provider.get_tracer("mcp-python-sdk"))
    upstream = build_server()
    try:
        async with Client(upstream, mode="legacy") as up:

            async def list_tools(
                ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
            ) -> types.ListToolsResult:
                return await up.list_tools()

            async def call_tool(
                ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
            ) -> types.CallToolResult:
                return await up.call_tool(params.name, params.arguments)  # no meta: the SDK injects traceparent

            gateway: Server[Any] = Server("gw", on_list_tools=list_tools, on_call_tool=call_tool)
            async with Client(gateway, mode="legacy") as down:
                await down.list_tools()
                await down.call_tool("add", {"a": 1, "b": 2})
    finally:
        provider.shutdown()
    spans = [s for s in exporter.get_finished_spans() if s.name.endswith("tools/call add")]
    # downstream CLIENT -> gateway SERVER -> gateway CLIENT -> upstream SERVER, one trace
    assert [(s.name, s.kind.name) for s in spans] == [
        ("tools/call add", "SERVER"),
        ("MCP send tools/call add", "CLIENT"),
        ("tools/call add", "SERVER"),
        ("MCP send tools/call add", "CLIENT"),
    ]
    assert len({s.context.trace_id for s in spans}) == 1
    up_server, gw_client, gw_server, down_client = spans
    assert up_server.parent is not None and up_server.parent.span_id == gw_client.context.span_id
    assert gw_client.parent is not None and gw_client.parent.span_id == gw_server.context.span_id
    assert gw_server.parent is not None and gw_server.parent.span_id == down_client.context.span_id
    assert dict(gw_server.attributes or {}) == {
        "mcp.method.name": "tools/call",
        "mcp.protocol.version": "2025-11-25",
        "jsonrpc.request.id": "3",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
    }
    (call,) = [c for c in CALLS if c["method"] == "tools/call"]
    assert call["meta"]["traceparent"].split("-")[2] == format(gw_client.context.span_id, "016x")
