"""Per-tenant anomaly models: trained, stored as signed files, loaded from the model directory only."""

from __future__ import annotations

import hashlib
import threading
import uuid
from pathlib import Path

from securenet.netsec.models import FlowAnomalyDetector
from securenet.store import models as repo
from securenet.store.database import Database
from securenet.store.schema import Model, utcnow

__all__ = ["ModelRegistry"]


class ModelRegistry:
    def __init__(self, db: Database, model_dir: Path, key: bytes | None = None) -> None:
        self.db = db
        #: Absolute, so a relative setting and a later change of directory cannot move it.
        self.model_dir = model_dir.resolve()
        self.key = key
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, FlowAnomalyDetector]] = {}

    def active(self, tenant_id: str) -> tuple[int, FlowAnomalyDetector] | None:
        """The tenant's active model (id and detector), loaded once per model id."""
        with self.db.session() as session:
            row = repo.active_model(session, tenant_id)
        if row is None:
            return None
        model_id, file_name = row
        cached = self._cache.get(tenant_id)
        if cached is not None and cached[0] == model_id:
            return cached
        # Named relative to the model directory: load() joins it there and checks it stays inside.
        detector = FlowAnomalyDetector.load(Path(tenant_id, file_name), self.model_dir, key=self.key)
        with self._lock:
            self._cache[tenant_id] = (model_id, detector)
        return model_id, detector

    def register(self, tenant_id: str, detector: FlowAnomalyDetector, *, trace_id: str | None = None) -> Model:
        """Write a fitted detector's signed file and make it the tenant's active model."""
        directory = self.model_dir / tenant_id
        directory.mkdir(parents=True, exist_ok=True)
        file_name = f"{utcnow().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.model"
        path = directory / file_name
        detector.save(path, key=self.key)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with self.db.session() as session:
            return repo.add_model(
                session,
                tenant_id,
                file_name=file_name,
                sha256=digest,
                n_training_rows=detector.n_training_rows,
                threshold=detector.threshold,
                components=detector.components,
                trace_id=trace_id,
            )

    def list(self, tenant_id: str) -> list[Model]:
        with self.db.session() as session:
            return repo.list_models(session, tenant_id)
