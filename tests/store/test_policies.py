"""A tenant's stored MCP policy document."""

from __future__ import annotations

from securenet.store.database import Database
from securenet.store.policies import get_tenant_policy, put_tenant_policy

STRICT = {"default_action": "block", "upstreams": {"tools": {"deny_tools": ["shell"]}}}


def test_a_policy_document_is_stored_replaced_and_read_back(db: Database, tenant_id: str) -> None:
    with db.session() as session:
        assert get_tenant_policy(session, tenant_id) is None
        put_tenant_policy(session, tenant_id, {"default_action": "warn"})
    with db.session() as session:
        assert get_tenant_policy(session, tenant_id) == {"default_action": "warn"}
        put_tenant_policy(session, tenant_id, STRICT)
    with db.session() as session:
        assert get_tenant_policy(session, tenant_id) == STRICT
