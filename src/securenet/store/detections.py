"""Analyses, detections and incidents: written once per analysis, read per tenant."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from securenet.netsec.verdicts import Verdicts
from securenet.store.schema import Analysis, Detection, Incident

__all__ = [
    "DetectionFilter",
    "InvalidCursorError",
    "Page",
    "decode_cursor",
    "encode_cursor",
    "find_analysis",
    "get_detection",
    "list_detections",
    "list_incidents",
    "save_flow_analysis",
]


class InvalidCursorError(ValueError):
    pass


def _pack(detectors: Sequence[str]) -> str:
    return "," + ",".join(detectors) + "," if detectors else ","


def unpack_detectors(packed: str) -> list[str]:
    return [d for d in packed.split(",") if d]


def find_analysis(session: Session, tenant_id: str, message_id: str) -> Analysis | None:
    return session.scalar(select(Analysis).where(Analysis.tenant_id == tenant_id, Analysis.message_id == message_id))


def save_flow_analysis(
    session: Session,
    *,
    tenant_id: str,
    kind: str,
    frame: pd.DataFrame,
    verdicts: Verdicts,
    trace_id: str | None,
    model_version: str | None,
    message_id: str | None = None,
) -> Analysis:
    """Store one analysis with a detection per threat verdict and its incidents.

    The caller's transaction makes it atomic. With ``message_id`` it is idempotent: a
    redelivered queue message finds its analysis already stored and writes nothing.
    """
    if message_id is not None:
        existing = find_analysis(session, tenant_id, message_id)
        if existing is not None:
            return existing
    analysis = Analysis(
        tenant_id=tenant_id,
        kind=kind,
        message_id=message_id,
        flow_count=len(verdicts),
        threat_count=verdicts.threat_count,
        max_level=verdicts.max_level,
        model_version=model_version,
        trace_id=trace_id,
    )
    session.add(analysis)
    session.flush()
    rows = np.flatnonzero(verdicts.is_threat)
    if rows.size:
        sources = _column(frame, "orig_h", rows)
        destinations = _column(frame, "resp_h", rows)
        ports = _column(frame, "resp_p", rows)
        stamps = _column(frame, "ts", rows)
        session.execute(
            insert(Detection),
            [
                {
                    "tenant_id": tenant_id,
                    "analysis_id": analysis.id,
                    "flow_index": int(row),
                    "flow_ts": _float(stamps[i]),
                    "source": _text(sources[i]),
                    "destination": _text(destinations[i]),
                    "destination_port": None if _float(ports[i]) is None else int(ports[i]),
                    "score": float(verdicts.score[row]),
                    "level": str(verdicts.level[row]),
                    "detectors": _pack(verdicts.detectors(int(row))),
                    "explanation": str(verdicts.explanation[row])[:2000],
                    "trace_id": trace_id,
                }
                for i, row in enumerate(rows.tolist())
            ],
        )
    if verdicts.incidents:
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
                for incident in verdicts.incidents
            ],
        )
    return analysis


def _column(frame: pd.DataFrame, name: str, rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if name not in frame:
        return np.full(rows.size, None, dtype=object)
    values: np.ndarray[Any, Any] = frame[name].to_numpy(dtype=object)[rows]
    return values


def _float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if np.isnan(number) else number


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)[:64]


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
