"""/v1/flows:analyze (synchronous) and /v1/flows (asynchronous ingest)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from securenet.api.deps import CurrentTenant, State
from securenet.api.problems import FieldError, Problem, validation_errors
from securenet.netsec.flows import Flow, flows_to_frame

__all__ = ["FlowIn", "parse_flows", "router"]

router = APIRouter(prefix="/v1", tags=["flows"])

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


class FlowIn(BaseModel):
    """A flow in the canonical schema (Zeek conn.log fields). Every field is optional."""

    model_config = ConfigDict(extra="forbid")

    ts: float | None = Field(default=None, description="Epoch seconds")
    uid: str | None = Field(default=None, max_length=64)
    orig_h: str | None = Field(default=None, max_length=64)
    orig_p: int | None = Field(default=None, ge=0, le=65535)
    resp_h: str | None = Field(default=None, max_length=64)
    resp_p: int | None = Field(default=None, ge=0, le=65535)
    proto: str | None = Field(default=None, max_length=16)
    service: str | None = Field(default=None, max_length=64)
    duration: float | None = Field(default=None, ge=0)
    orig_bytes: int | None = Field(default=None, ge=0)
    resp_bytes: int | None = Field(default=None, ge=0)
    conn_state: str | None = Field(default=None, max_length=16)
    orig_pkts: int | None = Field(default=None, ge=0)
    resp_pkts: int | None = Field(default=None, ge=0)
    extra: dict[str, float] = Field(default_factory=dict, description="Extra numeric features")


FLOWS = TypeAdapter(list[FlowIn])


async def parse_flows(request: Request, max_flows: int) -> list[dict[str, Any]]:
    """The body as validated flow records: a JSON array, or NDJSON (one object per line)."""
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    data: Any
    if content_type in NDJSON_TYPES:
        data = []
        for number, line in enumerate(body.decode("utf-8", errors="replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise Problem(
                    400,
                    "Malformed body",
                    f"line {number} is not JSON: {exc.msg}",
                    errors=[FieldError(f"/{len(data)}", exc.msg, line=number)],
                ) from None
    elif content_type == "application/json":
        try:
            data = json.loads(body) if body else None
        except json.JSONDecodeError as exc:
            raise Problem(400, "Malformed body", f"the body is not JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, list):
            raise Problem(
                422,
                "Validation failed",
                "the body must be a JSON array of flows",
                errors=[FieldError("", "expected an array")],
            )
    else:
        raise Problem(
            415, "Unsupported media type", f"send application/json or application/x-ndjson, not {content_type}"
        )
    if len(data) > max_flows:
        raise Problem(413, "Content too large", f"at most {max_flows} flows per request, got {len(data)}")
    try:
        flows = FLOWS.validate_python(data)
    except ValidationError as exc:
        raise Problem(
            422,
            "Validation failed",
            f"{exc.error_count()} invalid field(s); see errors.",
            errors=validation_errors(exc.errors())[:100],
        ) from None
    return [Flow(**flow.model_dump()).to_record() for flow in flows]


@router.post(
    "/flows:analyze",
    summary="Analyse a batch of flows now",
    description="Body: a JSON array of flows, or NDJSON. Verdicts come back in input order; "
    "threat verdicts are stored as detections with the trace id of the analysis.",
)
async def analyze_flows(request: Request, tenant: CurrentTenant, state: State) -> dict[str, Any]:
    records = await parse_flows(request, state.settings.max_flows_per_request)
    frame = flows_to_frame(records)
    analysis = await run_in_threadpool(state.orchestrator.analyze_flows, tenant.id, frame)
    verdicts = analysis.result.verdicts
    return {
        "analysis_id": analysis.analysis_id,
        "trace_id": analysis.trace_id,
        "flows": len(verdicts),
        "threats": verdicts.threat_count,
        "max_level": verdicts.max_level,
        "model": analysis.result.model_type or "rules_only",
        "verdicts": verdicts.to_frame().to_dict(orient="records"),
        "incidents": [incident.to_dict() for incident in verdicts.incidents],
    }


@router.post(
    "/flows",
    status_code=202,
    summary="Ingest flows for asynchronous analysis",
    description="The batch is queued on the tenant's stream and analysed by a worker. "
    "503 with Retry-After when the tenant's stream is full or the queue is unavailable.",
)
async def ingest_flows(request: Request, tenant: CurrentTenant, state: State) -> dict[str, Any]:
    from securenet.ingest import QueueFullError, QueueUnavailableError

    records = await parse_flows(request, state.settings.max_flows_per_request)
    try:
        ids = await run_in_threadpool(state.queue.publish, tenant.id, records)
    except QueueFullError as exc:
        raise Problem(
            503,
            "Ingest stream full",
            "The tenant's stream is at its limit; retry later.",
            headers={"Retry-After": str(max(1, int(exc.retry_after_s + 0.999)))},
        ) from None
    except QueueUnavailableError:
        raise Problem(
            503, "Queue unavailable", "The ingest queue cannot be reached; retry later.", headers={"Retry-After": "5"}
        ) from None
    return {"accepted": len(records), "message_ids": ids}
