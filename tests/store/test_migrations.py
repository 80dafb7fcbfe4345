"""Migrations run up and down on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from securenet.store.database import Database

TABLES = {"tenants", "api_keys", "analyses", "detections", "incidents", "models"}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert tables >= TABLES | {"alembic_version"}
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("detections")}
        assert {"ix_detections_tenant_id", "ix_detections_tenant_level_id", "ix_detections_tenant_source_id"} <= indexes
        db.downgrade("base")
        assert not (set(inspect(db.engine).get_table_names()) & TABLES)
        db.upgrade()
        assert set(inspect(db.engine).get_table_names()) >= TABLES
    finally:
        db.dispose()
