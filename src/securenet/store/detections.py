"""Analyses, detections and incidents: written once per analysis, read per tenant."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from securenet.store.schema import Analysis, Detection, Incident

__all__ = [
    "DetectionFilter",
    "DetectionRow",
    "FlowAnalysisRow",
    "IncidentRow",
    "InvalidCursorError",
    "Page",
    "decode_cursor",
    "encode_cursor",
    "find_analysis",
    "get_detection",
    "list_detections",
    "list_incidents",
    "save_flow_analysis",
    "unpack_detectors",
]

#: Longest text kept in the source and destination columns.
ADDRESS_CHARS = 64
#: Longest explanation kept per detection.
EXPLANATION_CHARS = 2000


class InvalidCursorError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DetectionRow:
    """One threat verdict for one flow of the analysed batch."""

    flow_index: int
    flow_ts: float | None
    source: str | None
    destination: str | None
    destination_port: int | None
    score: float
    level: str
    detectors: Sequence[str]
    explanation: str


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """Threat verdicts from one source, grouped."""

    source: str
    flows: int
    max_score: float
    level: str
    detectors: Sequence[str]
    first_ts: float | None
    last_ts: float | None


@dataclass(frozen=True)
class FlowAnalysisRow:
    """One network analysis as it is stored: its outcome, its detections and its incidents."""

    kind: str
    flow_count: int
    threat_count: int
    max_level: str
    model_version: str | None = None
    detections: Sequence[DetectionRow] = ()
    incidents: Sequence[IncidentRow] = ()


def _pack(detectors: Sequence[str]) -> str:
    return "," + ",".join(detectors) + "," if detectors else ","


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


def unpack_detectors(packed: str) -> list[str]:
    return [d for d in packed.split(",") if d]


def find_analysis(session: Session, tenant_id: str, message_id: str) -> Analysis | None:
    return session.scalar(select(Analysis).where(Analysis.tenant_id == tenant_id, Analysis.message_id == message_id))


def save_flow_analysis(
    session: Session,
    tenant_id: str,
    row: FlowAnalysisRow,
    *,
    trace_id: str | None,
    message_id: str | None = None,
) -> Analysis:
    """Store one analysis with its detections and incidents.

    The caller's transaction makes it atomic. With ``message_id`` it is idempotent: a
    redelivered queue message finds its analysis already stored and writes nothing.
    """
    if message_id is not None:
        existing = find_analysis(session, tenant_id, message_id)
        if existing is not None:
            return existing
    analysis = Analysis(
        tenant_id=tenant_id,
        kind=row.kind,
        message_id=message_id,
        flow_count=row.flow_count,
        threat_count=row.threat_count,
        max_level=row.max_level,
        model_version=row.model_version,
        trace_id=trace_id,
    )
    session.add(analysis)
    session.flush()
    if row.detections:
        session.execute(
            insert(Detection),
            [
                {
                    "tenant_id": tenant_id,
                    "analysis_id": analysis.id,
                    "flow_index": detection.flow_index,
                    "flow_ts": detection.flow_ts,
                    "source": _clip(detection.source, ADDRESS_CHARS),
                    "destination": _clip(detection.destination, ADDRESS_CHARS),
                    "destination_port": detection.destination_port,
                    "score": detection.score,
                    "level": detection.level,
                    "detectors": _pack(detection.detectors),
                    "explanation": detection.explanation[:EXPLANATION_CHARS],
                    "trace_id": trace_id,
                }
                for detection in row.detections
            ],
        )
    if row.incidents:
        session.execute(
            insert(Incident),
            [
                {
                    "tenant_id": tenant_id,
                    "analysis_id": analysis.id,
                    "source": incident.source,
                    "flows": incident.flows,
                    "max_score": incident.max_score,
                    "level": incident.level,
                    "detectors": _pack(incident.detectors),
                    "first_ts": incident.first_ts,
                    "last_ts": incident.last_ts,
                    "trace_id": trace_id,
                }
                for incident in row.incidents
            ],
        )
    return analysis


@dataclass(frozen=True)
class DetectionFilter:
    level: str | None = None
    source: str | None = None
    detector: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))["before"]
        if not isinstance(value, int) or value < 0:
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursorError("cursor is not one this API returned") from exc


def list_detections(
    session: Session, tenant_id: str, filters: DetectionFilter, *, cursor: str | None, limit: int
) -> Page:
    """Newest first, keyset-paginated on id (stable under concurrent inserts)."""
    query = select(Detection).where(Detection.tenant_id == tenant_id)
    if filters.level is not None:
        query = query.where(Detection.level == filters.level)
    if filters.source is not None:
        query = query.where(Detection.source == filters.source)
    if filters.detector is not None:
        query = query.where(Detection.detectors.contains(f",{filters.detector},", autoescape=True))
    if filters.since is not None:
        query = query.where(Detection.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(Detection.created_at < filters.until)
    if cursor is not None:
        query = query.where(Detection.id < decode_cursor(cursor))
    items = list(session.scalars(query.order_by(Detection.id.desc()).limit(limit + 1)))
    more = len(items) > limit
    items = items[:limit]
    return Page(items, encode_cursor(items[-1].id) if more and items else None)


def get_detection(session: Session, tenant_id: str, detection_id: int) -> Detection | None:
    return session.scalar(select(Detection).where(Detection.tenant_id == tenant_id, Detection.id == detection_id))


def list_incidents(session: Session, tenant_id: str, *, cursor: str | None, limit: int) -> Page:
    query = select(Incident).where(Incident.tenant_id == tenant_id)
    if cursor is not None:
        query = query.where(Incident.id < decode_cursor(cursor))
    items = list(session.scalars(query.order_by(Incident.id.desc()).limit(limit + 1)))
    more = len(items) > limit
    items = items[:limit]
    return Page(items, encode_cursor(items[-1].id) if more and items else None)
