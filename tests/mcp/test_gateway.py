"""The gateway between the official SDK's client and server, over streamable HTTP and stdio."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp.types as types
import pytest
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send
from typer.testing import CliRunner

from securenet.api.gateway import create_gateway_app
from securenet.cli import app as cli
from securenet.config import Settings
from securenet.mcp.gateway import BLOCKED_CODE, UpstreamSpec
from securenet.store.database import Database
from securenet.store.schema import Analysis, SecurityEvent
from tests.mcp.upstream.harness import ROOT, http_upstream, reset_mcp_sdk_tracer, uvicorn_in_thread
from tests.mcp.upstream.server import build_server, read_call_log

SECRET = "AKIAZ7QW3RTY5UIOP2LK"  # shaped like an AWS access key id, not the documentation example


class Notifications:
    def __init__(self) -> None:
        self.tools_changed = anyio.Event()

    async def __call__(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.tools_changed.set()


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    reset_mcp_sdk_tracer()
    call_log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("SECURENET_DATA_DIR", str(tmp_path / "data"))
    with http_upstream(call_log) as upstream:
        specs = [
            UpstreamSpec("tools", url=upstream.url),
            UpstreamSpec(
                "local", command=(sys.executable, "-m", "tests.mcp.upstream.server", "--stdio", "--name", "local")
            ),
        ]
        app = create_gateway_app(
            Settings(), specs, upstream_cwd=str(ROOT), upstream_env={"UPSTREAM_CALL_LOG": str(tmp_path / "stdio.jsonl")}
        )
        with uvicorn_in_thread(app) as port:
            yield {"base": f"http://127.0.0.1:{port}", "calls": call_log, "data": tmp_path / "data", "tmp": tmp_path}
    reset_mcp_sdk_tracer()


def called(log: Path, tool: str) -> list[dict[str, Any]]:
    return [c for c in read_call_log(log) if c.get("method") == "tools/call" and c.get("name") == tool]


def text_of(result: types.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_benign_passes_and_attacks_are_stopped(gateway: dict[str, Any], mode: str) -> None:
    async with Client(f"{gateway['base']}/mcp/tools", mode=mode) as client:
        listed = await client.list_tools()
        names = {tool.name for tool in listed.tools}
        assert {"add", "get_weather", "send_note", "fetch_document", "rug_pull_tool"} <= names
        assert "poisoned_calculator" not in names  # withheld: its description is poisoned

        added = await client.call_tool("add", {"a": 2, "b": 40})
        assert not added.is_error
        assert text_of(added) == "42"

        poisoned = await client.call_tool("poisoned_calculator", {"a": 1, "b": 2, "sidenote": ""})
        assert poisoned.is_error
        assert "SecureNet blocked this tool call" in text_of(poisoned)
        assert "@" in text_of(poisoned)  # names the finding id

        leak = await client.call_tool("send_note", {"to": "ops@example.org", "body": f"key is {SECRET}"})
        assert leak.is_error
        assert "secret" in text_of(leak)
        assert SECRET not in text_of(leak)

        injected = await client.call_tool("fetch_document", {"url": "https://docs.example.org/q3"})
        assert injected.is_error
        assert "tool result" in text_of(injected)
        assert "id_rsa" not in text_of(injected)

        readme = await client.read_resource("doc://readme")
        assert "README" in readme.contents[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError) as refused:
            await client.read_resource("doc://injected")
        assert refused.value.code == BLOCKED_CODE

        prompt = await client.get_prompt("summarize", {"text": "quarterly numbers"})
        assert prompt.messages

    assert called(gateway["calls"], "add")
    assert not called(gateway["calls"], "poisoned_calculator")  # never reached the upstream
    assert not called(gateway["calls"], "send_note")  # the secret never left
    assert SECRET not in gateway["calls"].read_text()


async def test_rug_pull_is_caught_until_approved(gateway: dict[str, Any]) -> None:
    notes = Notifications()
    async with Client(f"{gateway['base']}/mcp/tools", mode="legacy", message_handler=notes) as client:
        first = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert "rug_pull_tool" in first
        assert not (await client.call_tool("rug_pull_tool", {"topic": "owls"})).is_error
        await client.call_tool("trigger_rug_pull", {})
        with anyio.fail_after(10):
            await notes.tools_changed.wait()  # list_changed passes through the gateway
        second = {tool.name for tool in (await client.list_tools()).tools}
        assert "rug_pull_tool" not in second
        blocked = await client.call_tool("rug_pull_tool", {"topic": "owls"})
        assert blocked.is_error
        assert "RP001" in text_of(blocked) or "POL002" in text_of(blocked)

    db = Database(f"sqlite:///{gateway['data'] / 'securenet.db'}")
    with db.session() as session:
        events = list(session.scalars(select(SecurityEvent).where(SecurityEvent.kind == "mcp.tool_definition_changed")))
        assert len(events) == 1
        assert events[0].details["tool"] == "rug_pull_tool"
        assert "<IMPORTANT>" in events[0].details["diff"]
    db.dispose()

    result = CliRunner().invoke(
        cli,
        ["mcp", "pins", "approve", "--upstream", "tools", "--tool", "rug_pull_tool"],
        env={"SECURENET_DATA_DIR": str(gateway["data"])},
    )
    assert result.exit_code == 0, result.output
    async with Client(f"{gateway['base']}/mcp/tools", mode="legacy") as client:
        # Approved: the new definition is the pin. (Its hidden instructions are still
        # poisoning, so the analyzers withhold it on their own account.)
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "rug_pull_tool" not in names


async def test_stdio_upstream_and_shadowing(gateway: dict[str, Any]) -> None:
    async with Client(f"{gateway['base']}/mcp/local", mode="legacy") as local:
        assert (await local.call_tool("add", {"a": 1, "b": 1})).is_error is False
    async with Client(f"{gateway['base']}/mcp/tools", mode="legacy") as client:
        listed = await client.list_tools()
    # Both upstreams serve "add": the second list reports the shadowing (a warning by default).
    verdict = (listed.meta or {}).get("securenet/verdict", {})
    assert any(fid.startswith("SH001") for fid in verdict.get("finding_ids", []))
    assert read_call_log(gateway["tmp"] / "stdio.jsonl")


async def test_only_configured_upstreams_are_reachable(gateway: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{gateway['base']}/mcp/elsewhere", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}
        )
    assert response.status_code == 404


async def test_verdicts_are_stored_with_trace_ids(gateway: dict[str, Any]) -> None:
    async with Client(f"{gateway['base']}/mcp/tools", mode="legacy") as client:
        await client.call_tool("send_note", {"to": "a@example.org", "body": f"{SECRET}"})
    db = Database(f"sqlite:///{gateway['data'] / 'securenet.db'}")
    deadline = anyio.current_time() + 5
    rows: list[Analysis] = []
    while anyio.current_time() < deadline and not rows:
        with db.session() as session:
            rows = list(session.scalars(select(Analysis).where(Analysis.decision == "block")))
        await anyio.sleep(0.1)
    db.dispose()
    assert rows
    details = rows[0].details or {}
    assert details["method"] == "tools/call"
    assert SECRET not in json.dumps(details)


class ClientPorts:
    """ASGI wrapper that records the peer port of every HTTP request: one port is one TCP connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.ports: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client"):
            self.ports.append(scope["client"][1])
        await self.app(scope, receive, send)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_calls_reuse_one_upstream_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("SECURENET_DATA_DIR", str(tmp_path / "data"))
    upstream = ClientPorts(build_server().streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1"))
    with uvicorn_in_thread(upstream) as upstream_port:
        app = create_gateway_app(Settings(), [UpstreamSpec("tools", url=f"http://127.0.0.1:{upstream_port}/mcp")])
        with uvicorn_in_thread(app) as port:
            async with Client(f"http://127.0.0.1:{port}/mcp/tools", mode=mode) as client:
                await client.call_tool("add", {"a": 1, "b": 1})  # warm: lists and judges the tools first
                seen = len(upstream.ports)
                for i in range(10):
                    assert text_of(await client.call_tool("add", {"a": i, "b": 1})) == str(i + 1)
    # Ten calls, ten upstream requests, one kept-alive TCP connection (not a connect per call).
    assert len(upstream.ports[seen:]) >= 10
    assert len(set(upstream.ports[seen:])) == 1
