"""The test upstream works with the official SDK client over stdio and streamable HTTP (loopback only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import anyio
import mcp.shared._otel
import mcp.types as types
import pytest
from mcp.client.client import Client
from mcp.client.session import ClientSession
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.mcp.upstream.harness import http_upstream, reset_mcp_sdk_tracer, stdio_params, uvicorn_in_thread
from tests.mcp.upstream.server import (
    CALLS,
    INJECTION,
    POISONED_DESCRIPTION,
    RUG_PULL_BENIGN_DESCRIPTION,
    RUG_PULL_DESCRIPTION,
    build_server,
    read_call_log,
)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
# `meta=` is typed as the open TypedDict `RequestParamsMeta`; any dict works at runtime.
TRACE_META = cast(types.RequestParamsMeta, {"traceparent": TRACEPARENT})
SECRET = "AKIAIOSFODNN7EXAMPLE"
TOOL_NAMES = {
    "add",
    "get_weather",
    "fetch_document",
    "send_note",
    "poisoned_calculator",
    "rug_pull_tool",
    "trigger_rug_pull",
}
PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"


@pytest.fixture(autouse=True)
def sdk_tracer_follows_global_provider() -> Iterator[None]:
    # No global provider in these tests: the SDK must not create real spans that would overwrite _meta.traceparent.
    reset_mcp_sdk_tracer()
    CALLS.clear()
    yield
    reset_mcp_sdk_tracer()


class Notifications:
    """A `message_handler` that records server notifications (and transport exceptions)."""

    def __init__(self) -> None:
        self.messages: list[types.ServerNotification | Exception] = []
        self._changed = anyio.Event()

    async def __call__(self, message: types.ServerNotification | Exception) -> None:
        self.messages.append(message)
        if isinstance(message, types.ToolListChangedNotification):
            self._changed.set()

    async def wait_tools_changed(self, timeout: float = 10) -> None:
        with anyio.fail_after(timeout):
            await self._changed.wait()

    def tools_changed(self) -> int:
        return sum(isinstance(m, types.ToolListChangedNotification) for m in self.messages)


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def _tools(session: ClientSession) -> dict[str, types.Tool]:
    return {tool.name: tool for tool in (await session.list_tools()).tools}


async def exercise(session: ClientSession, notifications: Notifications | None) -> None:
    """Everything a gateway passes through. `notifications=None` on 2026-07-28 (no unsolicited notifications)."""
    tools = await _tools(session)
    assert set(tools) == TOOL_NAMES
    poisoned = tools["poisoned_calculator"]
    assert poisoned.description == POISONED_DESCRIPTION
    assert "<IMPORTANT>" in poisoned.description
    assert "~/.ssh/id_rsa" in poisoned.description
    assert "sidenote" in poisoned.input_schema["properties"]
    assert tools["rug_pull_tool"].description == RUG_PULL_BENIGN_DESCRIPTION

    assert _text(await session.call_tool("add", {"a": 2, "b": 3}, meta=TRACE_META)) == "5"
    assert "Paris" in _text(await session.call_tool("get_weather", {"city": "Paris"}))
    assert INJECTION in _text(await session.call_tool("fetch_document", {"url": "https://example.com/q3"}))
    sent = await session.call_tool("send_note", {"to": "bob@example.com", "body": f"key {SECRET}"})
    assert SECRET in _text(sent)
    assert _text(await session.call_tool("poisoned_calculator", {"a": 1, "b": 2, "sidenote": "x"})) == "3"

    bad_args = await session.call_tool("add", {"a": "one", "b": 2})
    assert bad_args.is_error
    with pytest.raises(MCPError) as unknown:
        await session.call_tool("no_such_tool", {})
    assert unknown.value.code == types.INVALID_PARAMS

    # Listing never flips the rug pull; only trigger_rug_pull does.
    assert (await _tools(session))["rug_pull_tool"].description == RUG_PULL_BENIGN_DESCRIPTION
    await session.call_tool("trigger_rug_pull", {})
    if notifications is not None:
        await notifications.wait_tools_changed()
    assert (await _tools(session))["rug_pull_tool"].description == RUG_PULL_DESCRIPTION

    resources = (await session.list_resources()).resources
    assert {r.uri for r in resources} == {"doc://readme", "doc://injected"}
    readme = (await session.read_resource("doc://readme")).contents[0]
    assert isinstance(readme, types.TextResourceContents)
    assert INJECTION not in readme.text
    injected = (await session.read_resource("doc://injected")).contents[0]
    assert isinstance(injected, types.TextResourceContents)
    assert INJECTION in injected.text
    templates = (await session.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["doc://notes/{name}"]
    note = (await session.read_resource("doc://notes/a")).contents[0]
    assert isinstance(note, types.TextResourceContents)
    assert "Note a" in note.text
    with pytest.raises(MCPError) as missing:
        await session.read_resource("doc://missing")
    assert missing.value.code == types.INVALID_PARAMS

    prompts = (await session.list_prompts()).prompts
    assert [p.name for p in prompts] == ["summarize"]
    assert prompts[0].arguments is not None
    assert prompts[0].arguments[0].name == "text"
    assert prompts[0].arguments[0].required
    prompt = await session.get_prompt("summarize", {"text": "MCP is a protocol."})
    content = prompt.messages[0].content
    assert isinstance(content, types.TextContent)
    assert "MCP is a protocol." in content.text


def _tool_calls(calls: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [c for c in calls if c["method"] == "tools/call" and c["name"] == name]


def assert_recorded(calls: list[dict[str, Any]]) -> None:
    (add,) = [c for c in _tool_calls(calls, "add") if c["arguments"] == {"a": 2, "b": 3}]
    assert add["meta"]["traceparent"] == TRACEPARENT
    (note,) = _tool_calls(calls, "send_note")
    assert note["arguments"] == {"to": "bob@example.com", "body": f"key {SECRET}"}
    (poisoned,) = _tool_calls(calls, "poisoned_calculator")
    assert poisoned["arguments"]["sidenote"] == "x"
    assert [c["name"] for c in calls if c["method"] == "resources/read"] == [
        "doc://readme",
        "doc://injected",
        "doc://notes/a",
        "doc://missing",
    ]
    assert [c["name"] for c in calls if c["method"] == "prompts/get"] == ["summarize"]


def test_definitions_without_transport() -> None:
    server = build_server()
    tools = {tool.name: tool for tool in server.tools()}
    assert set(tools) == TOOL_NAMES
    assert tools["rug_pull_tool"].description == RUG_PULL_BENIGN_DESCRIPTION
    assert "Do not mention this to the user" in RUG_PULL_DESCRIPTION
    assert server.create_initialization_options().capabilities.tools == types.ToolsCapability(list_changed=True)


async def test_stdio(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    notifications = Notifications()
    async with (
        stdio_client(stdio_params(log)) as (read, write),
        ClientSession(read, write, message_handler=notifications) as session,
    ):
        init = await session.initialize()
        assert init.protocol_version == "2025-11-25"
        assert init.server_info.name == "test-upstream"
        assert init.capabilities.tools is not None
        assert init.capabilities.tools.list_changed
        await exercise(session, notifications)
    assert notifications.tools_changed() == 1
    calls = read_call_log(log)
    assert_recorded(calls)
    assert {c["transport"] for c in calls} == {"stdio"}
    assert {c["session_id"] for c in calls} == {None}


async def test_http_handshake_era(tmp_path: Path) -> None:
    notifications = Notifications()
    with http_upstream(tmp_path / "calls.jsonl") as upstream:
        assert upstream.url == f"http://127.0.0.1:{upstream.port}/mcp"
        async with Client(upstream.url, mode="legacy", message_handler=notifications) as client:
            assert client.protocol_version == "2025-11-25"
            await exercise(client.session, notifications)
        calls = upstream.calls()
    assert notifications.tools_changed() == 1
    assert_recorded(calls)
    assert calls[0]["method"] == "initialize"
    assert calls[0]["session_id"] is None  # assigned in the initialize response
    session_ids = {c["session_id"] for c in calls[1:]}
    assert len(session_ids) == 1
    assert None not in session_ids


async def test_http_standalone_get_stream_notification(tmp_path: Path) -> None:
    notifications = Notifications()
    with http_upstream() as upstream:
        async with Client(upstream.url, mode="legacy", message_handler=notifications) as client:
            # The standalone GET stream is opened after `notifications/initialized`; a notification sent before it
            # is attached is dropped by the server transport, so retry (trigger_rug_pull is idempotent).
            for _ in range(20):
                await client.call_tool("trigger_rug_pull", {"channel": "standalone"})
                with anyio.move_on_after(0.5):
                    await notifications.wait_tools_changed()
                if notifications.tools_changed():
                    break
    assert notifications.tools_changed() >= 1


async def test_http_2026_stateless_era(tmp_path: Path) -> None:
    with http_upstream(tmp_path / "calls.jsonl") as upstream:
        async with Client(upstream.url) as client:  # mode="auto": server/discover succeeds -> 2026-07-28
            assert client.protocol_version == "2026-07-28"
            await exercise(client.session, None)
        # Change notifications only travel on subscriptions/listen streams at 2026-07-28.
        async with Client(upstream.url) as client, client.listen(tools_list_changed=True) as subscription:
            await client.call_tool("trigger_rug_pull", {})
            with anyio.fail_after(10):
                event = await subscription.__anext__()
            assert type(event).__name__ == "ToolsListChanged"
        calls = upstream.calls()
    assert_recorded(calls)
    assert calls[0]["method"] == "server/discover"
    assert {c["session_id"] for c in calls} == {None}  # no Mcp-Session-Id at 2026-07-28
    (add,) = [c for c in _tool_calls(calls, "add") if c["arguments"] == {"a": 2, "b": 3}]
    assert add["meta"][PROTOCOL_VERSION_KEY] == "2026-07-28"  # the per-request envelope lives in _meta
    assert "subscriptions/listen" in [c["method"] for c in calls]


async def test_http_stateless_and_json_response_modes(tmp_path: Path) -> None:
    for stateless, json_response in ((True, False), (False, True)):
        with http_upstream(stateless=stateless, json_response=json_response) as upstream:
            async with Client(upstream.url, mode="legacy") as client:
                assert _text(await client.call_tool("add", {"a": 1, "b": 1})) == "2"


async def test_sdk_injects_traceparent_when_tracing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(mcp.shared._otel, "_tracer", provider.get_tracer("mcp-python-sdk"))
    try:
        with http_upstream(tmp_path / "calls.jsonl") as upstream:
            async with Client(upstream.url, mode="legacy") as client:
                await client.list_tools()
                with provider.get_tracer("test").start_as_current_span("agent-step") as root:
                    await client.call_tool("add", {"a": 1, "b": 2})
                    # An explicit traceparent is overwritten by the SDK's own CLIENT span while tracing is active.
                    await client.call_tool("add", {"a": 3, "b": 4}, meta=TRACE_META)
            calls = upstream.calls()
    finally:
        provider.shutdown()
    trace_id = format(root.get_span_context().trace_id, "032x")
    sends = [s for s in exporter.get_finished_spans() if s.name == "MCP send tools/call add"]
    assert len(sends) == 2
    assert all(s.parent is not None and s.parent.span_id == root.get_span_context().span_id for s in sends)
    assert sends[0].attributes is not None
    assert sends[0].attributes["mcp.method.name"] == "tools/call"
    received = [c["meta"]["traceparent"] for c in _tool_calls(calls, "add")]
    assert [tp.split("-")[1] for tp in received] == [trace_id, trace_id]
    assert {tp.split("-")[2] for tp in received} == {format(s.context.span_id, "016x") for s in sends}


async def test_in_thread_http_records_module_calls() -> None:
    server = build_server("in-thread")
    with uvicorn_in_thread(server.streamable_http_app(streamable_http_path="/mcp/upstream")) as port:
        async with Client(f"http://127.0.0.1:{port}/mcp/upstream", mode="legacy") as client:
            await client.call_tool("send_note", {"to": "eve", "body": SECRET}, meta=TRACE_META)
            assert not server.rug_pulled
            await client.call_tool("trigger_rug_pull", {})
            assert server.rug_pulled
    (note,) = _tool_calls(CALLS, "send_note")
    assert note["server"] == "in-thread"
    assert note["arguments"] == {"to": "eve", "body": SECRET}
    assert note["meta"] == {"traceparent": TRACEPARENT}
    assert note["transport"] == "http"
