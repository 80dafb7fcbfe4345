"""Pinned MCP tool definitions and the security events of their changes, per tenant and upstream.

The rug-pull decisions are made in ``securenet.mcp.pins``; this repository only keeps the
rows (it implements that module's ``PinRepository``). A change or an approval and its
security event are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from securenet.store.database import Database
from securenet.store.schema import SecurityEvent, ToolPin, utcnow

__all__ = ["SecurityEventRow", "ToolPinRepository", "ToolPinRow"]


@dataclass(frozen=True)
class ToolPinRow:
    """One row of ``tool_pins``, detached from any session."""

    tenant_id: str
    upstream: str
    tool_name: str
    sha256: str
    definition: dict[str, Any]
    status: str
    pending_sha256: str | None


class SecurityEventRow(TypedDict):
    kind: str
    details: dict[str, Any]
    trace_id: str | None


def _row(pin: ToolPin) -> ToolPinRow:
    return ToolPinRow(
        tenant_id=pin.tenant_id,
        upstream=pin.upstream,
        tool_name=pin.tool_name,
        sha256=pin.sha256,
        definition=pin.definition,
        status=pin.status,
        pending_sha256=pin.pending_sha256,
    )


def _event(session: Session, tenant_id: str, event: SecurityEventRow) -> None:
    session.add(
        SecurityEvent(tenant_id=tenant_id, kind=event["kind"], details=event["details"], trace_id=event["trace_id"])
    )


class ToolPinRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _where(tenant_id: str, upstream: str, tool_name: str) -> tuple[Any, ...]:
        return (ToolPin.tenant_id == tenant_id, ToolPin.upstream == upstream, ToolPin.tool_name == tool_name)

    def find(self, tenant_id: str, upstream: str, tool_name: str) -> ToolPinRow | None:
        with self.db.session() as session:
            pin = session.scalar(select(ToolPin).where(*self._where(tenant_id, upstream, tool_name)))
            return None if pin is None else _row(pin)

    def add(self, tenant_id: str, upstream: str, tool_name: str, sha256: str, definition: dict[str, Any]) -> bool:
        pin = ToolPin(tenant_id=tenant_id, upstream=upstream, tool_name=tool_name, sha256=sha256, definition=definition)
        with self.db.session() as session:
            try:
                with session.begin_nested():
                    session.add(pin)
            except IntegrityError:  # another replica pinned it first
                return False
        return True

    def hold(
        self,
        tenant_id: str,
        upstream: str,
        tool_name: str,
        sha256: str,
        definition: dict[str, Any],
        event: SecurityEventRow,
    ) -> bool:
        with self.db.session() as session:
            # Conditional, so that two replicas seeing the same change record it once, and a
            # definition approved meanwhile is not held again.
            result = session.execute(
                update(ToolPin)
                .where(
                    *self._where(tenant_id, upstream, tool_name),
                    ToolPin.sha256 != sha256,
                    or_(ToolPin.pending_sha256.is_(None), ToolPin.pending_sha256 != sha256),
                )
                .values(status="changed", pending_sha256=sha256, pending_definition=definition, changed_at=utcnow())
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            _event(session, tenant_id, event)
        return True

    def approve(self, tenant_id: str, upstream: str, tool_name: str, sha256: str, event: SecurityEventRow) -> bool:
        with self.db.session() as session:
            result = session.execute(
                update(ToolPin)
                .where(*self._where(tenant_id, upstream, tool_name), ToolPin.pending_sha256 == sha256)
                .values(
                    sha256=ToolPin.pending_sha256,
                    definition=ToolPin.pending_definition,
                    pending_sha256=None,
                    pending_definition=None,
                    status="pinned",
                    approved_at=utcnow(),
                )
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            _event(session, tenant_id, event)
        return True

    def list(self, tenant_id: str | None = None) -> Sequence[ToolPinRow]:
        with self.db.session() as session:
            query = select(ToolPin).order_by(ToolPin.upstream, ToolPin.tool_name)
            if tenant_id is not None:
                query = query.where(ToolPin.tenant_id == tenant_id)
            return [_row(pin) for pin in session.scalars(query)]
