"""Records of trained anomaly models; the model files themselves live in the model directory."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from securenet.store.schema import Model

__all__ = ["active_model", "add_model", "list_models"]


def active_model(session: Session, tenant_id: str) -> tuple[int, str] | None:
    """The id and file name of the tenant's active model, or None."""
    row = session.execute(
        select(Model.id, Model.file_name)
        .where(Model.tenant_id == tenant_id, Model.active.is_(True))
        .order_by(Model.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def add_model(
    session: Session,
    tenant_id: str,
    *,
    file_name: str,
    sha256: str,
    n_training_rows: int,
    threshold: float,
    components: Sequence[str],
    trace_id: str | None,
) -> Model:
    """Record a new model file and make it the tenant's only active model."""
    session.execute(update(Model).where(Model.tenant_id == tenant_id).values(active=False))
    model = Model(
        tenant_id=tenant_id,
        file_name=file_name,
        sha256=sha256,
        n_training_rows=n_training_rows,
        threshold=threshold,
        components="+".join(components),
        active=True,
        trace_id=trace_id,
    )
    session.add(model)
    session.flush()
    return model


def list_models(session: Session, tenant_id: str) -> list[Model]:
    """The tenant's models, newest first."""
    return list(session.scalars(select(Model).where(Model.tenant_id == tenant_id).order_by(Model.id.desc())))
