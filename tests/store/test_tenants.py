"""Tenants and their keys."""

from __future__ import annotations

from securenet.store.database import Database
from securenet.store.tenants import authenticate, create_tenant, ensure_tenant, get_tenant, list_tenants


def test_tenants_are_listed_oldest_first_and_found_by_id(db: Database) -> None:
    with db.session() as session:
        first, _ = create_tenant(session, "first")
    with db.session() as session:
        second, _ = create_tenant(session, "second")
    with db.session() as session:
        assert [t.name for t in list_tenants(session)] == ["first", "second"]
        found = get_tenant(session, second.id)
        assert found is not None and found.name == "second"
        assert get_tenant(session, "no-such-tenant") is None
    assert first.id != second.id


def test_ensure_tenant_creates_a_keyless_tenant_once(db: Database) -> None:
    with db.session() as session:
        ensure_tenant(session, "default")
    with db.session() as session:
        ensure_tenant(session, "default")
    with db.session() as session:
        [tenant] = list_tenants(session)
        assert (tenant.id, tenant.name) == ("default", "default")
        # No key was made, so nothing authenticates as it.
        assert authenticate(session, "snk_anything") is None
