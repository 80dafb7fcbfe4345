"""The MCP security gateway: one proxy per configured upstream, built on the official SDK.

For each upstream the gateway holds one persistent client session (streamable HTTP or
stdio) and exposes a low-level SDK ``Server`` to downstream clients at ``/mcp/NAME``.
Every request and every answer passes through ``SecurityOrchestrator.analyze``:

* ``tools/call``: the call is judged before it leaves (deny lists, withheld tools,
  secrets and injection patterns in the arguments, cross-call taint); a blocked call
  never reaches the upstream and the client gets a tool error naming the finding.
* answers (``tools/list``, tool results, resources, prompts): judged before they reach
  the client; poisoned or changed tools are withheld from the list, injected results
  are replaced by an error, secrets are redacted.

Only configured upstreams exist: the gateway is not an open proxy. Trace context flows
through on its own: the SDK's server span continues the client's ``_meta.traceparent``,
and the SDK's client injects the gateway's context into the upstream request.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import anyio
import mcp.types as types
import structlog
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ToolsListChanged,
)
from mcp.shared.exceptions import MCPError

from securenet.mcp.inspector import Verdict
from securenet.mcp.judge import Judge, SecurityRequest
from securenet.mcp.upstream import UPSTREAM_UNAVAILABLE_CODE, ListChanged, UpstreamConnection, UpstreamSpec
from securenet.telemetry import set_current_span_attribute

__all__ = [
    "BLOCKED_CODE",
    "UPSTREAM_UNAVAILABLE_CODE",
    "GatewayServer",
    "Hop",
    "Judge",
    "UpstreamConnection",
    "UpstreamSpec",
    "supervise_upstreams",
]

log = structlog.get_logger("securenet.mcp")

#: JSON-RPC error code for a message SecureNet refused (implementation-defined server error range).
BLOCKED_CODE = -32010
RESERVED_META_PREFIX = "io.modelcontextprotocol/"


def _dump(result: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


def _forward_meta(ctx: ServerRequestContext[Any]) -> dict[str, Any] | None:
    raw = (ctx.params or {}).get("_meta")
    if not isinstance(raw, dict):
        return None
    # The modern envelope keys belong to the downstream hop; the SDK client adds its own
    # (and its trace context) for the upstream hop.
    meta = {
        k: v
        for k, v in raw.items()
        if not k.startswith(RESERVED_META_PREFIX) and k not in ("traceparent", "tracestate")
    }
    return meta or None


def _session_id(ctx: ServerRequestContext[Any]) -> str | None:
    request = ctx.request
    if request is None:
        return None
    header = request.headers.get("mcp-session-id")
    if header:
        return str(header)
    client = getattr(request, "client", None)
    return f"client:{client.host}" if client else None


def _blocked_text(verdict: Verdict, trace_id: str | None, what: str) -> str:
    finding = verdict.blocking_finding
    if finding is None:
        return f"SecureNet blocked this {what}."
    return (
        f"SecureNet blocked this {what}: finding {finding.id} ({finding.finding.analyzer}/{finding.finding.category}, "
        f"{finding.finding.severity}): {finding.finding.message}. Policy rule: {finding.policy_rule_id}."
        + (f" Trace: {trace_id}." if trace_id else "")
    )


def _verdict_meta(verdict: Verdict, trace_id: str | None) -> dict[str, Any]:
    return {
        "securenet/verdict": {
            "decision": verdict.decision,
            "risk_score": round(verdict.risk_score, 4),
            "finding_ids": [f.id for f in verdict.findings],
            "trace_id": trace_id,
        }
    }


def _tool_error(text: str, meta: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True, _meta=meta)


def _refuse(verdict: Verdict, trace_id: str | None, what: str) -> MCPError:
    return MCPError(
        BLOCKED_CODE,
        _blocked_text(verdict, trace_id, what),
        data={"finding_ids": [f.id for f in verdict.findings if f.action == "block"], "trace_id": trace_id},
    )


@dataclass
class _TenantState:
    """What the gateway learnt about one upstream for one tenant."""

    blocked_tools: dict[str, str] = field(default_factory=dict)
    #: False until the tools were listed (and judged) since start or since the last list_changed.
    listed: bool = False


@dataclass(frozen=True)
class Hop:
    """Who is asking, independent of the transport (an MCP session or the REST proxy)."""

    tenant_id: str
    session_id: str | None = None
    request_id: Any = None
    meta: dict[str, Any] | None = None


#: ``tenant_of(ctx) -> tenant id`` for requests arriving over MCP.
TenantOf = Callable[[ServerRequestContext[Any]], str]


class GatewayServer(Server[Any]):
    """The downstream face of one upstream: every handler forwards and judges."""

    def __init__(
        self,
        upstream: UpstreamConnection,
        judge: Judge,
        *,
        catalog: dict[str, set[str]] | None = None,
        tenant_of: TenantOf | None = None,
    ) -> None:
        self.upstream = upstream
        self.judge = judge
        self.tenant_of = tenant_of or (lambda ctx: "default")
        #: upstream name -> tool names it serves, shared by the gateway's servers (shadowing checks).
        self.catalog = catalog if catalog is not None else {}
        self.bus = InMemorySubscriptionBus()
        self.schemas: dict[str, Mapping[str, Any]] = {}
        self._states: dict[str, _TenantState] = {}
        self._sessions: dict[str, Any] = {}
        super().__init__(
            f"securenet-gateway/{upstream.spec.name}",
            version="1",
            instructions=f"SecureNet security gateway in front of the MCP server {upstream.spec.name!r}.",
            get_tool_input_schema=self.schemas.get,
            on_list_tools=cast(Any, self._on_list_tools),
            on_call_tool=cast(Any, self._on_call_tool),
            on_list_resources=cast(Any, self._on_list_resources),
            on_list_resource_templates=cast(Any, self._on_list_resource_templates),
            on_read_resource=cast(Any, self._on_read_resource),
            on_list_prompts=cast(Any, self._on_list_prompts),
            on_get_prompt=cast(Any, self._on_get_prompt),
            on_subscriptions_listen=ListenHandler(self.bus),
        )
        self.middleware.append(self._session_middleware)
        upstream.listeners.append(self._upstream_changed)

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options
            or NotificationOptions(tools_changed=True, resources_changed=True, prompts_changed=True),
            experimental_capabilities,
            extensions,
        )

    def state(self, tenant_id: str) -> _TenantState:
        return self._states.setdefault(tenant_id, _TenantState())

    def _hop(self, ctx: ServerRequestContext[Any]) -> Hop:
        return Hop(self.tenant_of(ctx), _session_id(ctx), ctx.request_id, _forward_meta(ctx))

    async def _session_middleware(self, ctx: ServerRequestContext[Any], call_next: CallNext) -> HandlerResult:
        session_id = _session_id(ctx)
        if session_id is not None:
            set_current_span_attribute("mcp.session.id", session_id)
            if ctx.request is not None and ctx.request.headers.get("mcp-session-id"):
                self._sessions[session_id] = ctx.session
        try:
            return await call_next(ctx)
        except MCPError:
            raise
        except Exception as exc:
            # Never let an exception's text reach the client (the SDK would send str(exc)).
            log.error(
                "gateway handler failed", upstream=self.upstream.spec.name, error_type=type(exc).__name__, exc_info=exc
            )
            raise MCPError(types.INTERNAL_ERROR, "the gateway could not complete the request") from None

    async def _upstream_changed(self, kind: ListChanged) -> None:
        if isinstance(kind, ToolsListChanged):
            for state in self._states.values():
                state.listed = False
        await self.bus.publish(kind)
        for session in list(self._sessions.values()):
            try:
                if isinstance(kind, ToolsListChanged):
                    await session.send_tool_list_changed()
                elif isinstance(kind, ResourcesListChanged):
                    await session.send_resource_list_changed()
                elif isinstance(kind, PromptsListChanged):
                    await session.send_prompt_list_changed()
            except Exception:  # a closed session: forget it
                self._sessions = {k: v for k, v in self._sessions.items() if v is not session}

    async def _judge(
        self, message: dict[str, Any], hop: Hop, method: str, tool: str | None = None
    ) -> tuple[Verdict, str | None]:
        name = self.upstream.spec.name
        other_tools = {
            tool_name: owner for owner, names in self.catalog.items() if owner != name for tool_name in names
        }
        request = SecurityRequest(
            tenant_id=hop.tenant_id,
            message=message,
            method=method,
            upstream=name,
            # Sessions are per tenant: one tenant's taint never reaches another's.
            session_id=None if hop.session_id is None else f"{hop.tenant_id}:{hop.session_id}",
            tool=tool,
            blocked_tools=dict(self.state(hop.tenant_id).blocked_tools),
            other_tools=other_tools,
        )
        if method == "tools/list" and "result" in message:
            # tools/list answers touch the pin store (database): keep that off the event loop.
            return await anyio.to_thread.run_sync(self.judge.analyze, request)
        return self.judge.analyze(request)

    # -- the forwarding core: transport-independent ------------------------------------------

    async def list_tools(self, hop: Hop, cursor: str | None = None) -> types.ListToolsResult:
        result = _dump(await self.upstream.call(lambda client: client.list_tools(cursor=cursor)))
        answer = {"jsonrpc": "2.0", "id": hop.request_id, "result": result}
        verdict, trace_id = await self._judge(answer, hop, "tools/list")
        state = self.state(hop.tenant_id)
        # Recomputed on every list: a definition approved since is usable again.
        state.blocked_tools = dict(verdict.blocked_tools)
        state.listed = True
        self.catalog[self.upstream.spec.name] = {
            str(t.get("name")) for t in result.get("tools") or [] if isinstance(t, dict)
        }
        if verdict.decision == "block" or verdict.message is None:
            raise _refuse(verdict, trace_id, "tool list")
        forwarded = dict(verdict.message["result"])
        for tool in forwarded.get("tools") or []:
            if isinstance(tool, dict) and isinstance(tool.get("inputSchema"), dict):
                self.schemas[str(tool.get("name"))] = tool["inputSchema"]
        if verdict.findings:
            forwarded["_meta"] = {**forwarded.get("_meta", {}), **_verdict_meta(verdict, trace_id)}
        return types.ListToolsResult.model_validate(forwarded)

    async def call_tool(self, hop: Hop, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        await self.upstream.require()  # an unavailable upstream answers before anything is judged
        if not self.state(hop.tenant_id).listed:
            # Judge the current definitions first: a poisoned or changed tool must not be
            # callable just because the client skipped tools/list.
            with contextlib.suppress(MCPError):
                await self.list_tools(hop)
        request: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": hop.request_id,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments or {}},
        }
        verdict, trace_id = await self._judge(request, hop, "tools/call", name)
        if verdict.decision == "block":
            return _tool_error(_blocked_text(verdict, trace_id, "tool call"), _verdict_meta(verdict, trace_id))
        forwarded_request: dict[str, Any] = verdict.message or request
        forwarded_arguments = cast(dict[str, Any], forwarded_request["params"]["arguments"])
        meta = cast(types.RequestParamsMeta, hop.meta)
        result = await self.upstream.call(lambda client: client.call_tool(name, forwarded_arguments, meta=meta))
        answer = {"jsonrpc": "2.0", "id": hop.request_id, "result": _dump(result)}
        verdict, trace_id = await self._judge(answer, hop, "tools/call", name)
        if verdict.decision == "block" or verdict.message is None:
            return _tool_error(_blocked_text(verdict, trace_id, "tool result"), _verdict_meta(verdict, trace_id))
        forwarded: dict[str, Any] = dict(verdict.message["result"])
        if verdict.findings:
            forwarded["_meta"] = {**forwarded.get("_meta", {}), **_verdict_meta(verdict, trace_id)}
        return types.CallToolResult.model_validate(forwarded)

    async def _answer(self, hop: Hop, result: Any, method: str, what: str) -> Any:
        answer = {"jsonrpc": "2.0", "id": hop.request_id, "result": _dump(result)}
        verdict, trace_id = await self._judge(answer, hop, method)
        if verdict.decision == "block" or verdict.message is None:
            raise _refuse(verdict, trace_id, what)
        forwarded: dict[str, Any] = dict(verdict.message["result"])
        if verdict.findings:
            forwarded["_meta"] = {**forwarded.get("_meta", {}), **_verdict_meta(verdict, trace_id)}
        # Hand back the upstream's own result type, rebuilt from the judged (possibly redacted) dict.
        return type(result).model_validate(forwarded)

    async def list_resources(self, hop: Hop, cursor: str | None = None) -> Any:
        result = await self.upstream.call(lambda client: client.list_resources(cursor=cursor))
        return await self._answer(hop, result, "resources/list", "resource list")

    async def list_resource_templates(self, hop: Hop, cursor: str | None = None) -> Any:
        result = await self.upstream.call(lambda client: client.list_resource_templates(cursor=cursor))
        return await self._answer(hop, result, "resources/templates/list", "resource template list")

    async def read_resource(self, hop: Hop, uri: str) -> Any:
        meta = cast(types.RequestParamsMeta, hop.meta)
        result = await self.upstream.call(lambda client: client.read_resource(uri, meta=meta))
        return await self._answer(hop, result, "resources/read", "resource")

    async def list_prompts(self, hop: Hop, cursor: str | None = None) -> Any:
        result = await self.upstream.call(lambda client: client.list_prompts(cursor=cursor))
        return await self._answer(hop, result, "prompts/list", "prompt list")

    async def get_prompt(self, hop: Hop, name: str, arguments: dict[str, str] | None) -> Any:
        request: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": hop.request_id,
            "method": "prompts/get",
            "params": {"name": name, "arguments": arguments or {}},
        }
        verdict, trace_id = await self._judge(request, hop, "prompts/get")
        if verdict.decision == "block":
            raise _refuse(verdict, trace_id, "prompt request")
        meta = cast(types.RequestParamsMeta, hop.meta)
        result = await self.upstream.call(lambda client: client.get_prompt(name, arguments, meta=meta))
        return await self._answer(hop, result, "prompts/get", "prompt")

    async def proxy(self, tenant_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Forward one JSON-RPC request (the REST proxy); returns the JSON-RPC response."""
        method, params = message.get("method"), message.get("params") or {}
        hop = Hop(tenant_id, None, message.get("id"), None)
        try:
            result: Any
            if method == "tools/list":
                result = await self.list_tools(hop, params.get("cursor"))
            elif method == "tools/call":
                result = await self.call_tool(hop, str(params.get("name", "")), params.get("arguments"))
            elif method == "resources/list":
                result = await self.list_resources(hop, params.get("cursor"))
            elif method == "resources/templates/list":
                result = await self.list_resource_templates(hop, params.get("cursor"))
            elif method == "resources/read":
                result = await self.read_resource(hop, str(params.get("uri", "")))
            elif method == "prompts/list":
                result = await self.list_prompts(hop, params.get("cursor"))
            elif method == "prompts/get":
                result = await self.get_prompt(hop, str(params.get("name", "")), params.get("arguments"))
            else:
                raise MCPError(types.METHOD_NOT_FOUND, f"the proxy does not forward {method!r}")
        except MCPError as exc:
            return {
                "jsonrpc": "2.0",
                "id": message.get("id"),
                "error": exc.error.model_dump(mode="json", exclude_none=True),
            }
        return {"jsonrpc": "2.0", "id": message.get("id"), "result": _dump(result)}

    # -- MCP handlers: adapt the SDK's context to the core ----------------------------------

    async def _on_list_tools(self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        return await self.list_tools(self._hop(ctx), params.cursor if params else None)

    async def _on_call_tool(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> Any:
        return await self.call_tool(self._hop(ctx), params.name, params.arguments)

    async def _on_list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> Any:
        return await self.list_resources(self._hop(ctx), params.cursor if params else None)

    async def _on_list_resource_templates(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> Any:
        return await self.list_resource_templates(self._hop(ctx), params.cursor if params else None)

    async def _on_read_resource(self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams) -> Any:
        return await self.read_resource(self._hop(ctx), str(params.uri))

    async def _on_list_prompts(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> Any:
        return await self.list_prompts(self._hop(ctx), params.cursor if params else None)

    async def _on_get_prompt(self, ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> Any:
        return await self.get_prompt(self._hop(ctx), params.name, params.arguments)


@contextlib.asynccontextmanager
async def supervise_upstreams(connections: list[UpstreamConnection]) -> AsyncIterator[None]:
    """Run one supervisor per upstream for the life of the block; an upstream that is down at the
    start is marked so and retried, and no upstream's failure ends the block.

    The block starts once every upstream's first connection attempt has ended (at most the
    longest connect timeout), so healthy upstreams are served from the first request."""
    async with anyio.create_task_group() as tasks:
        for connection in connections:
            tasks.start_soon(connection.supervise, name=f"mcp-upstream-{connection.spec.name}")
        with anyio.move_on_after(max((c.connect_timeout for c in connections), default=0) + 1):
            for connection in connections:
                await connection.first_attempt.wait()
        try:
            yield
        finally:
            tasks.cancel_scope.cancel()
