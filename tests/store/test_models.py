"""Model records: one active model per tenant, listed newest first."""

from __future__ import annotations

from securenet.store.database import Database
from securenet.store.models import active_model, add_model, list_models
from securenet.store.tenants import create_tenant


def _add(db: Database, tenant_id: str, file_name: str) -> int:
    with db.session() as session:
        model = add_model(
            session,
            tenant_id,
            file_name=file_name,
            sha256="f" * 64,
            n_training_rows=1000,
            threshold=0.42,
            components=("kmeans", "iforest"),
            trace_id="ab" * 16,
        )
        return model.id


def test_the_newest_model_is_the_only_active_one(db: Database, tenant_id: str) -> None:
    with db.session() as session:
        assert active_model(session, tenant_id) is None
    first = _add(db, tenant_id, "first.model")
    second = _add(db, tenant_id, "second.model")
    with db.session() as session:
        other, _ = create_tenant(session, "other")
    _add(db, other.id, "other.model")
    with db.session() as session:
        assert active_model(session, tenant_id) == (second, "second.model")
        models = list_models(session, tenant_id)
    assert [(m.id, m.active) for m in models] == [(second, True), (first, False)]
    assert (models[0].components, models[0].n_training_rows, models[0].threshold) == ("kmeans+iforest", 1000, 0.42)
    assert models[0].trace_id == "ab" * 16
