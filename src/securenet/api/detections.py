"""/v1/detections and /v1/incidents: tenant-scoped reads with cursor pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from securenet.api.deps import CurrentTenant, State
from securenet.api.problems import FieldError, Problem
from securenet.store import detections as repo
from securenet.store.detections import unpack_detectors
from securenet.store.schema import Detection

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["detections"])

Level = Literal["critical", "high", "medium", "low"]


class DetectionOut(BaseModel):
    id: int
    analysis_id: int
    flow_index: int
    created_at: datetime
    flow_ts: float | None
    source: str | None
    destination: str | None
    destination_port: int | None
    score: float
    level: str
    detectors: list[str]
    explanation: str
    trace_id: str | None


class IncidentOut(BaseModel):
    id: int
    analysis_id: int
    created_at: datetime
    source: str
    flows: int
    max_score: float
    level: str
    detectors: list[str]
    first_ts: float | None
    last_ts: float | None
    trace_id: str | None


class DetectionPage(BaseModel):
    items: list[DetectionOut]
    next_cursor: str | None


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None


def _detection(row: Detection) -> DetectionOut:
    return DetectionOut(
        id=row.id,
        analysis_id=row.analysis_id,
        flow_index=row.flow_index,
        created_at=row.created_at,
        flow_ts=row.flow_ts,
        source=row.source,
        destination=row.destination,
        destination_port=row.destination_port,
        score=row.score,
        level=row.level,
        detectors=unpack_detectors(row.detectors),
        explanation=row.explanation,
        trace_id=row.trace_id,
    )


def _cursor_problem() -> Problem:
    return Problem(
        422,
        "Validation failed",
        "invalid cursor",
        errors=[FieldError("/query/cursor", "not a cursor this API returned")],
    )


@router.get("/detections", response_model=DetectionPage, summary="List detections, newest first")
async def list_detections(
    tenant: CurrentTenant,
    state: State,
    level: Level | None = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
    detector: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DetectionPage:
    filters = repo.DetectionFilter(level=level, source=source, detector=detector, since=since, until=until)

    def load() -> DetectionPage:
        with state.db.session() as session:
            page = repo.list_detections(session, tenant.id, filters, cursor=cursor, limit=limit)
            return DetectionPage(items=[_detection(row) for row in page.items], next_cursor=page.next_cursor)

    try:
        return await run_in_threadpool(load)
    except repo.InvalidCursorError:
        raise _cursor_problem() from None


@router.get("/detections/{detection_id}", response_model=DetectionOut, summary="One detection")
async def get_detection(detection_id: int, tenant: CurrentTenant, state: State) -> DetectionOut:
    def load() -> DetectionOut | None:
        with state.db.session() as session:
            row = repo.get_detection(session, tenant.id, detection_id)
            return None if row is None else _detection(row)

    found = await run_in_threadpool(load)
    if found is None:
        # Another tenant's detection is indistinguishable from a missing one.
        raise Problem(404, "Not found", f"no detection {detection_id}")
    return found


@router.get("/incidents", response_model=IncidentPage, summary="List incidents, newest first")
async def list_incidents(
    tenant: CurrentTenant,
    state: State,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> IncidentPage:
    def load() -> IncidentPage:
        with state.db.session() as session:
            page = repo.list_incidents(session, tenant.id, cursor=cursor, limit=limit)
            items = [
                IncidentOut(
                    id=row.id,
                    analysis_id=row.analysis_id,
                    created_at=row.created_at,
                    source=row.source,
                    flows=row.flows,
                    max_score=row.max_score,
                    level=row.level,
                    detectors=unpack_detectors(row.detectors),
                    first_ts=row.first_ts,
                    last_ts=row.last_ts,
                    trace_id=row.trace_id,
                )
                for row in page.items
            ]
            return IncidentPage(items=items, next_cursor=page.next_cursor)

    try:
        return await run_in_threadpool(load)
    except repo.InvalidCursorError:
        raise _cursor_problem() from None
