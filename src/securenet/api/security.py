"""/v1/security: judge MCP traffic (analyze), forward it (proxy), and set the tenant's policy."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from securenet.api.deps import CurrentTenant, State, mcp_servers
from securenet.api.problems import FieldError, Problem, validation_errors
from securenet.mcp.policy import PolicyError, PolicyFormat, PolicySyntaxError, read_policy_document
from securenet.orchestrator import SecurityRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1/security", tags=["security"])

Channel = Literal["user_input", "tool_description", "tool_output", "tool_arguments"]


class AnalyzeIn(BaseModel):
    """Either ``text`` with its ``channel``, or a whole JSON-RPC ``message``."""

    text: str | None = Field(default=None, max_length=1_000_000)
    channel: Channel = "user_input"
    message: dict[str, Any] | None = None
    upstream: str | None = Field(default=None, max_length=100)
    tool: str | None = Field(default=None, max_length=200, description="The tool a tools/call result answers")

    @model_validator(mode="after")
    def one_of(self) -> AnalyzeIn:
        if (self.text is None) == (self.message is None):
            raise ValueError("give either text (with channel) or message")
        return self


class ProxyIn(BaseModel):
    upstream: str = Field(max_length=100)
    message: dict[str, Any] = Field(description="A JSON-RPC request: tools/list, tools/call, resources/*, prompts/*")


@router.post("/analyze", summary="Judge a text on a channel, or a whole MCP JSON-RPC message")
async def analyze(request: Request, tenant: CurrentTenant, state: State) -> dict[str, Any]:
    body = await request.json()
    if isinstance(body, dict) and "jsonrpc" in body:
        body = {"message": body}
    try:
        payload = AnalyzeIn.model_validate(body)
    except ValidationError as exc:
        raise Problem(
            422, "Validation failed", "see errors", errors=validation_errors(exc.errors(), strip_prefix=0)
        ) from None
    verdict, trace_id = await run_in_threadpool(
        state.orchestrator.analyze,
        SecurityRequest(
            tenant_id=tenant.id,
            message=payload.message,
            text=payload.text,
            channel=payload.channel if payload.text is not None else None,
            upstream=payload.upstream,
            tool=payload.tool,
        ),
    )
    result = {**verdict.to_dict(), "trace_id": trace_id}
    if payload.message is not None and verdict.message is not None and verdict.decision == "redact":
        result["redacted_message"] = verdict.message
    return result


@router.post("/proxy", summary="Forward one MCP request to a configured upstream, judged both ways")
async def proxy(request: Request, body: ProxyIn, tenant: CurrentTenant) -> dict[str, Any]:
    server = mcp_servers(request).get(body.upstream)
    if server is None:
        # Only configured upstreams exist: the gateway is not an open proxy.
        raise Problem(404, "Not found", f"no MCP upstream named {body.upstream!r} is configured")
    if not isinstance(body.message.get("method"), str):
        raise Problem(
            422,
            "Validation failed",
            "message must be a JSON-RPC request",
            errors=[FieldError("/message/method", "required")],
        )
    response: dict[str, Any] = await server.proxy(tenant.id, body.message)
    return response


@router.get("/policy", summary="The tenant's MCP policy (its own, or the file's, or the default)")
async def get_policy(tenant: CurrentTenant, state: State) -> dict[str, Any]:
    stored = await run_in_threadpool(state.orchestrator.policies.stored, tenant.id)
    effective = await run_in_threadpool(state.orchestrator.policies.for_tenant, tenant.id)
    source = "tenant" if stored is not None else ("file" if state.orchestrator.policies.file else "default")
    return {"source": source, "policy": effective.model_dump(mode="json")}


#: The policy formats PUT accepts, by the body's media type.
POLICY_MEDIA_TYPES: dict[str, PolicyFormat] = {
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "application/toml": "toml",
    "application/json": "json",
}


async def _policy_document(request: Request) -> dict[str, Any]:
    """The request body parsed by its Content-Type: 415 for another type, 422 naming the parser's line."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    fmt = POLICY_MEDIA_TYPES.get(media_type)
    if fmt is None:
        given = f"Content-Type {media_type!r}" if media_type else "no Content-Type"
        raise Problem(
            415, "Unsupported media type", f"{given}; send the policy as one of: {', '.join(POLICY_MEDIA_TYPES)}"
        )
    try:
        text = (await request.body()).decode("utf-8")
        document = await run_in_threadpool(read_policy_document, text, fmt, "the request body")
    except UnicodeDecodeError:
        raise Problem(422, "Invalid policy", "the request body is not UTF-8") from None
    except PolicySyntaxError as exc:
        where = {} if exc.line is None else {"line": exc.line, "column": exc.column}
        raise Problem(422, "Invalid policy", str(exc), errors=[FieldError("", exc.problem, **where)]) from None
    except PolicyError as exc:
        raise Problem(422, "Invalid policy", str(exc)) from None
    if document is None:
        raise Problem(422, "Invalid policy", "the request body is empty; a policy is a mapping (an object)")
    return dict(document)


@router.put(
    "/policy",
    summary="Set the tenant's MCP policy (validated; takes effect within seconds)",
    description="The body is YAML (`application/yaml`, `application/x-yaml`, `text/yaml`), TOML "
    "(`application/toml`) or JSON (`application/json`), read by its Content-Type.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": {"type": "object"}} for media_type in POLICY_MEDIA_TYPES},
        }
    },
)
async def put_policy(request: Request, tenant: CurrentTenant, state: State) -> dict[str, Any]:
    document = await _policy_document(request)
    try:
        policy = await run_in_threadpool(state.orchestrator.policies.set_for_tenant, tenant.id, document)
    except PolicyError as exc:
        lines = str(exc).splitlines()[1:]
        errors = [
            FieldError("/" + line.strip().split(":", 1)[0].replace(".", "/"), line.split(":", 1)[-1].strip())
            for line in lines
        ]
        raise Problem(422, "Invalid policy", "the policy does not validate; see errors", errors=errors) from None
    return {"source": "tenant", "policy": policy.model_dump(mode="json")}
