"""A relative SECURENET_DATA_DIR (``make run``'s default shape): trained models are found again."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from securenet.api import create_app
from securenet.config import Settings
from tests.api.conftest import ADMIN_KEY, admin, bearer
from tests.netsec.traffic import background_and_scan


def test_training_with_a_relative_data_dir_then_analysing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SECURENET_DATA_DIR", "data")
    monkeypatch.setenv("SECURENET_ADMIN_KEY", ADMIN_KEY)
    settings = Settings()
    assert settings.data_dir == tmp_path.resolve() / "data"
    assert settings.effective_model_dir == tmp_path.resolve() / "data" / "models"
    normal, scan = background_and_scan()
    with TestClient(create_app(settings)) as client:
        created = client.post("/v1/tenants", json={"name": "acme"}, headers=admin())
        assert created.status_code == 201, created.text
        acme = created.json()
        trained = client.post("/v1/models:train", json=normal, headers=bearer(acme))
        assert trained.status_code == 201, trained.text
        # The service keeps working when the process's directory changes after start-up.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        analysed = client.post("/v1/flows:analyze", json=normal[:5] + scan[:5], headers=bearer(acme))
        assert analysed.status_code == 200, analysed.text
        assert analysed.json()["model"] == "knn+iforest"
    model_files = list((tmp_path / "data" / "models" / acme["id"]).glob("*.model"))
    assert len(model_files) == 1
    assert not (tmp_path / "data" / "models" / "data").exists()
    assert not (elsewhere / "data").exists()


def test_relative_model_and_policy_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.yaml").write_text("{}\n")  # the policy file is loaded (validated) with the settings
    settings = Settings(data_dir=Path("d"), model_dir=Path("m/../models"), mcp_policy_file=Path("policy.yaml"))
    assert settings.data_dir == tmp_path.resolve() / "d"
    assert settings.model_dir == tmp_path.resolve() / "models"
    assert settings.mcp_policy_file == tmp_path.resolve() / "policy.yaml"
