"""The CLI and the server find one database wherever they are started; reads never create one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from securenet.api import create_app
from securenet.cli import app
from securenet.config import Settings
from securenet.mcp.pins import ToolPinStore
from securenet.store.database import Database
from securenet.store.pins import ToolPinRepository

runner = CliRunner()


def test_the_default_database_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_data_home: Path
) -> None:
    database = user_data_home / "securenet" / "securenet.db"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()

    monkeypatch.chdir(first)
    created = runner.invoke(app, ["tenants", "create", "acme"])
    assert created.exit_code == 0, created.stderr
    assert f"database: sqlite:///{database}\n" in created.stderr
    key = created.stdout.strip()
    assert database.exists()

    monkeypatch.chdir(second)
    listed = runner.invoke(app, ["tenants", "list"])
    assert listed.exit_code == 0, listed.stderr
    tenant_id, name = listed.stdout.strip().split("\t")
    assert name == "acme"
    db = Database(Settings().effective_database_url)
    ToolPinStore(ToolPinRepository(db)).check(tenant_id, "tools", {"name": "search", "description": "Search the web."})
    db.dispose()
    pins = runner.invoke(app, ["mcp", "pins", "list"])
    assert pins.exit_code == 0, pins.stderr
    assert pins.stdout.startswith(f"{tenant_id}\ttools\tsearch\tpinned\t")
    # The server started from yet another directory accepts the key printed in the first.
    with TestClient(create_app(Settings())) as client:
        response = client.get("/v1/detections", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
    assert not any(tmp_path.rglob("*.db")), "no database next to where the commands ran"


@pytest.mark.parametrize(
    "command",
    [
        ["tenants", "list"],
        ["mcp", "pins", "list"],
        ["mcp", "pins", "approve", "--upstream", "tools", "--tool", "search"],
        ["keys", "create", "some-tenant"],
        ["keys", "revoke", "snk_AbCdEfGh"],
    ],
    ids=lambda command: " ".join(command[:3]),
)
def test_commands_that_need_data_never_create_a_database(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_data_home: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, command)
    assert result.exit_code != 0
    expected = user_data_home / "securenet" / "securenet.db"
    assert f"no database at {expected}" in result.stderr
    assert "SECURENET_DATA_DIR" in result.stderr and "SECURENET_DATABASE_URL" in result.stderr
    assert not (user_data_home / "securenet").exists()
    assert list(tmp_path.iterdir()) == []


def test_data_dir_and_database_url_choose_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURENET_DATA_DIR", str(tmp_path / "server-data"))
    created = runner.invoke(app, ["tenants", "create", "acme"])
    assert created.exit_code == 0, created.stderr
    assert f"database: sqlite:///{tmp_path / 'server-data' / 'securenet.db'}\n" in created.stderr
    monkeypatch.delenv("SECURENET_DATA_DIR")
    monkeypatch.setenv("SECURENET_DATABASE_URL", f"sqlite:///{tmp_path / 'server-data' / 'securenet.db'}")
    listed = runner.invoke(app, ["tenants", "list"])
    assert listed.exit_code == 0, listed.stderr
    assert listed.stdout.strip().endswith("\tacme")


def test_the_database_line_masks_the_password(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    assert with_password != postgres_url
    monkeypatch.setenv("SECURENET_DATABASE_URL", with_password)
    result = runner.invoke(app, ["tenants", "create", "acme"])
    assert result.exit_code == 0, result.stderr
    assert "s3cret-pw" not in result.stderr
    assert f"database: {postgres_url.replace('postgres@', 'postgres:***@', 1)}\n" in result.stderr


def test_the_default_data_dir_is_the_user_data_directory(user_data_home: Path) -> None:
    settings = Settings()
    assert settings.data_dir == user_data_home / "securenet"
    assert settings.effective_model_dir == user_data_home / "securenet" / "models"
    assert settings.effective_database_url == f"sqlite:///{user_data_home / 'securenet' / 'securenet.db'}"


def test_config_names_the_database_and_creates_nothing(user_data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["data_dir"] == str(user_data_home / "securenet")
    assert shown["model_dir"] == str(user_data_home / "securenet" / "models")
    assert shown["database_url"] == f"sqlite:///{user_data_home / 'securenet' / 'securenet.db'}"
    monkeypatch.setenv("SECURENET_DATABASE_URL", "postgresql+psycopg://svc:hunter2-secret@127.0.0.1:5432/securenet")
    masked = runner.invoke(app, ["config"])
    assert json.loads(masked.stdout)["database_url"] == "postgresql+psycopg://svc:***@127.0.0.1:5432/securenet"
    assert "hunter2-secret" not in masked.output
    assert not (user_data_home / "securenet").exists()
