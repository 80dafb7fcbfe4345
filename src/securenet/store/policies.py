"""Tenants' MCP policy documents, as set through the API (validated before they get here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from securenet.store.schema import TenantPolicy, utcnow

__all__ = ["get_tenant_policy", "put_tenant_policy"]


def get_tenant_policy(session: Session, tenant_id: str) -> dict[str, Any] | None:
    """The tenant's stored policy document, or None when it has none."""
    row = session.get(TenantPolicy, tenant_id)
    return None if row is None else dict(row.document)


def put_tenant_policy(session: Session, tenant_id: str, document: dict[str, Any]) -> None:
    """Store the tenant's policy document, replacing any earlier one."""
    row = session.get(TenantPolicy, tenant_id)
    if row is None:
        session.add(TenantPolicy(tenant_id=tenant_id, document=document))
    else:
        row.document, row.updated_at = document, utcnow()
