"""A migrated database per test, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from securenet.store.database import Database
from securenet.store.tenants import create_tenant


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    database = Database(url)
    database.upgrade()
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def tenant_id(db: Database) -> str:
    with db.session() as session:
        tenant, _ = create_tenant(session, "acme")
        return tenant.id
