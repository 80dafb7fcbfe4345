"""A batch that can never be processed ends in the dead-letter stream with its reason, on both queues."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from securenet.netsec.flows import flows_to_frame
from securenet.netsec.models import FlowAnomalyDetector
from securenet.orchestrator import ModelRegistry, SecurityOrchestrator
from securenet.store.database import Database
from securenet.store.tenants import create_tenant
from securenet.worker import StreamWorker
from tests.ingest.conftest import Backend
from tests.netsec.traffic import background_and_scan


def test_a_batch_whose_model_file_is_missing_is_dead_lettered_after_the_retry_budget(
    backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'securenet.db'}")
    db.upgrade()
    with db.session() as session:
        tenant, _ = create_tenant(session, "acme")
        tenant_id = tenant.id
    models = ModelRegistry(db, tmp_path / "models")
    normal, scan = background_and_scan()
    model = models.register(tenant_id, FlowAnomalyDetector().fit(flows_to_frame(normal)))
    (tmp_path / "models" / tenant_id / model.file_name).unlink()  # lost: the batch can never succeed
    orchestrator = SecurityOrchestrator(db, models)
    queue = backend.make(max_deliveries=3)
    (entry_id,) = queue.publish(tenant_id, scan[:10])
    worker = StreamWorker(queue, orchestrator, name="w1", block_ms=0, claim_idle_ms=0)
    try:
        with caplog.at_level(logging.ERROR, logger="securenet.ingest"):
            for _ in range(6):
                worker.run_once()
        (dead,) = queue.dead_letters()
        assert (dead.message_id, dead.tenant_id) == (entry_id, tenant_id)
        assert dead.delivery_count == 3, "dead-lettered on its last permitted delivery"
        assert dead.error.startswith("FileNotFoundError: "), dead.error
        assert model.file_name in dead.error
        assert str(tmp_path) not in dead.error, "no server paths in the reason"
        assert queue.backlog() == 0
        assert worker.processed == 0
        dead_lettered = [r for r in caplog.records if r.name == "securenet.ingest" and entry_id in r.getMessage()]
        assert len(dead_lettered) == 1, "logged once"
    finally:
        orchestrator.close()
        db.dispose()


def test_the_retry_budget_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from securenet.config import Settings
    from securenet.runtime import Services

    monkeypatch.setenv("SECURENET_STREAM_MAX_DELIVERIES", "2")
    with Services.build(Settings(data_dir=tmp_path)) as services:
        assert services.queue.max_deliveries == 2
    monkeypatch.delenv("SECURENET_STREAM_MAX_DELIVERIES")
    assert Settings().stream_max_deliveries == 5
