"""SQLAlchemy 2 table definitions. Every tenant-owned row carries ``tenant_id``.

Indexes follow the API's queries: detections are listed per tenant newest first
(keyset pagination on ``id``) and filtered by level, source, detector and time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Analysis", "ApiKey", "Base", "Detection", "Incident", "Model", "Tenant", "utcnow"]

#: BIGINT on PostgreSQL, INTEGER (the rowid alias that autoincrements) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Requests per minute; None means the service default.
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer, default=None)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="default")
    #: The first characters of the key, shown to help users tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    #: SHA-256 of the whole key. Keys are 256-bit random tokens, so a fast hash suffices.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Analysis(Base):
    """One analysis request and its outcome: the link from a verdict to its trace."""

    __tablename__ = "analyses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id", name="uq_analyses_tenant_message"),
        Index("ix_analyses_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # flows.sync, flows.stream, mcp
    #: Queue message id for streamed batches: makes redelivered batches idempotent.
    message_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    flow_count: Mapped[int] = mapped_column(Integer, default=0)
    threat_count: Mapped[int] = mapped_column(Integer, default=0)
    max_level: Mapped[str] = mapped_column(String(16), default="low")
    model_version: Mapped[str | None] = mapped_column(String(64), default=None)
    trace_id: Mapped[str | None] = mapped_column(String(32), default=None)
    decision: Mapped[str | None] = mapped_column(String(16), default=None)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Detection(Base):
    __tablename__ = "detections"
    __table_args__ = (
        Index("ix_detections_tenant_id", "tenant_id", "id"),
        Index("ix_detections_tenant_level_id", "tenant_id", "level", "id"),
        Index("ix_detections_tenant_source_id", "tenant_id", "source", "id"),
        Index("ix_detections_tenant_created", "tenant_id", "created_at"),
        UniqueConstraint("analysis_id", "flow_index", name="uq_detections_analysis_flow"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    flow_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    flow_ts: Mapped[float | None] = mapped_column(Float, default=None)
    source: Mapped[str | None] = mapped_column(String(64), default=None)
    destination: Mapped[str | None] = mapped_column(String(64), default=None)
    destination_port: Mapped[int | None] = mapped_column(Integer, default=None)
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(16))
    #: Comma-delimited with leading and trailing commas (",port_scan,anomaly_model,") so a
    #: detector filter is one portable LIKE on every database.
    detectors: Mapped[str] = mapped_column(String(400))
    explanation: Mapped[str] = mapped_column(Text, default="")
    trace_id: Mapped[str | None] = mapped_column(String(32), default=None)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_tenant_id", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(64))
    flows: Mapped[int] = mapped_column(Integer)
    max_score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(16))
    detectors: Mapped[str] = mapped_column(String(400))
    first_ts: Mapped[float | None] = mapped_column(Float, default=None)
    last_ts: Mapped[float | None] = mapped_column(Float, default=None)
    trace_id: Mapped[str | None] = mapped_column(String(32), default=None)


class Model(Base):
    """A trained anomaly model; the file lives in the model directory."""

    __tablename__ = "models"
    __table_args__ = (Index("ix_models_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    n_training_rows: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[float] = mapped_column(Float)
    components: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    trace_id: Mapped[str | None] = mapped_column(String(32), default=None)


class ToolPin(Base):
    """The pinned definition of one MCP tool, per tenant and upstream (rug-pull defence)."""

    __tablename__ = "tool_pins"
    __table_args__ = (UniqueConstraint("tenant_id", "upstream", "tool_name", name="uq_tool_pins_tool"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    upstream: Mapped[str] = mapped_column(String(100))
    tool_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: "pinned", or "changed" while a different definition awaits approval.
    status: Mapped[str] = mapped_column(String(16), default="pinned")
    pending_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    pending_definition: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)


class TenantPolicy(Base):
    """A tenant's MCP policy document, set through the API."""

    __tablename__ = "tenant_policies"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SecurityEvent(Base):
    """Security events worth keeping: changed tool definitions, blocked calls, ..."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_tenant_id", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    trace_id: Mapped[str | None] = mapped_column(String(32), default=None)
