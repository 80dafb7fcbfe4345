"""/v1/models:train and /v1/models: a tenant's anomaly models."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from securenet.api.deps import CurrentTenant, State
from securenet.api.flows import parse_flows
from securenet.api.problems import Problem
from securenet.netsec.flows import flows_to_frame
from securenet.netsec.labels import is_normal
from securenet.netsec.readers import MalformedInputError, read_all
from securenet.store.schema import Model

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["models"])


class ModelOut(BaseModel):
    id: int
    created_at: datetime
    n_training_rows: int
    threshold: float
    components: list[str]
    sha256: str
    active: bool
    trace_id: str | None


def _model(row: Model) -> ModelOut:
    return ModelOut(
        id=row.id,
        created_at=row.created_at,
        n_training_rows=row.n_training_rows,
        threshold=row.threshold,
        components=row.components.split("+"),
        sha256=row.sha256,
        active=row.active,
        trace_id=row.trace_id,
    )


async def _baseline(request: Request, fmt: str | None, normal_only: bool, max_flows: int) -> Any:
    if fmt is None:
        if normal_only:
            raise Problem(422, "Validation failed", "normal_only needs a labelled upload format such as nsl-kdd")
        return flows_to_frame(await parse_flows(request, max_flows))
    body = await request.body()

    def read() -> Any:
        with tempfile.NamedTemporaryFile(suffix=".upload") as handle:
            handle.write(body)
            handle.flush()
            chunk = read_all(Path(handle.name), fmt, on_error="fail")  # type: ignore[arg-type]
        frame = chunk.frame
        if normal_only:
            if chunk.labels is None:
                raise Problem(422, "Validation failed", f"the {fmt} upload has no labels for normal_only")
            frame = frame.loc[is_normal(chunk.labels)].reset_index(drop=True)
        return frame

    try:
        return await run_in_threadpool(read)
    except MalformedInputError as exc:
        detail = str(exc.error).replace(str(exc.error.path), "upload")
        raise Problem(422, "Malformed upload", detail) from None


@router.post(
    "/models:train",
    status_code=201,
    response_model=ModelOut,
    summary="Train the tenant's anomaly model on baseline traffic",
    description="Body: baseline flows as a JSON array or NDJSON, or a file in `format` "
    "(zeek, csv, ndjson, nsl-kdd). The new model becomes the tenant's active model.",
)
async def train_model(
    request: Request,
    tenant: CurrentTenant,
    state: State,
    format: Annotated[str | None, Query(pattern="^(zeek|csv|ndjson|nsl-kdd)$")] = None,
    normal_only: bool = False,
) -> ModelOut:
    frame = await _baseline(request, format, normal_only, state.settings.max_flows_per_request)
    try:
        model = await run_in_threadpool(state.orchestrator.train, tenant.id, frame)
    except ValueError as exc:
        raise Problem(422, "Training failed", str(exc)) from None
    return _model(model)


@router.get("/models", response_model=list[ModelOut], summary="The tenant's models, newest first")
async def list_models(tenant: CurrentTenant, state: State) -> list[ModelOut]:
    rows = await run_in_threadpool(state.orchestrator.models_of, tenant.id)
    return [_model(row) for row in rows]
