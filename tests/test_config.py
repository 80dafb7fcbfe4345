"""Settings from the environment: a bad value stops every command with one line naming the variable."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from securenet.cli import app
from securenet.config import Settings
from securenet.telemetry import TelemetrySettings

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

#: Each bad value, and what its line must say besides the variable's name.
BAD = {
    "SECURENET_PORT": ("eighty", "integer from 1 to 65535"),
    "SECURENET_MCP_UPSTREAMS": ("docs=http://127.0.0.1:9000/mcp", "JSON list"),
    "SECURENET_DATABASE_URL": ("mysql://app:hunter2-db@db.example/app", "sqlite:///PATH"),
    "SECURENET_MAX_BODY_BYTES": ("10", ">= 1024"),
    "SECURENET_MODEL_KEY": ("short-s3cret", "at least 16 bytes"),
}


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def _assert_explained(exit_code: int, stderr: str, bad: dict[str, tuple[str, str]]) -> None:
    assert exit_code == 2, stderr
    assert "Traceback" not in stderr and "ValidationError" not in stderr
    lines = _lines(stderr)
    assert len(lines) == len(bad), stderr  # one line per problem
    for variable, (_, accepted) in bad.items():
        (line,) = [line for line in lines if line.startswith(f"error: {variable}")]
        assert accepted in line, line
    for secret in ("hunter2-db", "short-s3cret"):
        assert secret not in stderr


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["worker"],
        ["config"],
        ["mcp-gateway", "--upstream", "docs=http://127.0.0.1:9/mcp"],
        ["tenants", "list"],
        ["tenants", "create", "acme"],
        ["keys", "revoke", "snk_AbCdEfGh"],
        ["db", "upgrade"],
        ["mcp", "pins", "list"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_every_command_explains_bad_settings_in_one_line_each(command, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for variable, (value, _) in BAD.items():
        monkeypatch.setenv(variable, value)
    result = runner.invoke(app, command)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    _assert_explained(result.exit_code, result.stderr, BAD)
    assert not (tmp_path / "data").exists()  # nothing started


def test_serve_process_with_a_bad_port_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECURENET_"))}
    env.update(PYTHONPATH=str(ROOT / "src"), SECURENET_PORT="8o8o")
    proc = subprocess.run(
        [sys.executable, "-m", "securenet", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert _lines(proc.stderr) == [
        "error: SECURENET_PORT='8o8o' is invalid: not a valid integer (accepted: an integer from 1 to 65535)"
    ]


def test_upstream_entries_are_checked_when_settings_load(monkeypatch) -> None:
    monkeypatch.setenv("SECURENET_MCP_UPSTREAMS", '["docs=ftp://example.org"]')
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    (line,) = _lines(result.stderr)
    assert line.startswith("error: SECURENET_MCP_UPSTREAMS") and "neither an http(s) URL nor stdio:COMMAND" in line


def test_a_policy_file_that_does_not_load_stops_serve_with_its_line(monkeypatch, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("severity_actions:\n  critical: warn\n high: [warn\n")
    monkeypatch.setenv("SECURENET_MCP_POLICY_FILE", str(policy))
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2, result.output
    (line,) = _lines(result.stderr)
    assert line.startswith(f"error: SECURENET_MCP_POLICY_FILE='{policy}' is invalid: not valid YAML")
    assert "(line 3, column 2)" in line


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://app:pw@db.example:5433/app", "postgresql+psycopg://app:pw@db.example:5433/app"),
        ("postgresql://app:pw@db.example/app", "postgresql+psycopg://app:pw@db.example/app"),
        ("postgresql+psycopg://app@db.example/app", "postgresql+psycopg://app@db.example/app"),
        ("sqlite:////var/lib/securenet/securenet.db", "sqlite:////var/lib/securenet/securenet.db"),
    ],
)
def test_database_urls_are_read_as_users_write_them(given: str, used: str, monkeypatch) -> None:
    monkeypatch.setenv("SECURENET_DATABASE_URL", given)
    assert Settings().effective_database_url == used


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg2://app@db/app", "mysql://app@db/app", "sqlite://relative.db", "/var/lib/app.db"],
)
def test_unsupported_database_urls_are_refused(url: str, monkeypatch) -> None:
    monkeypatch.setenv("SECURENET_DATABASE_URL", url)
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    (line,) = _lines(result.stderr)
    assert line.startswith("error: SECURENET_DATABASE_URL=")
    assert "accepted: sqlite:///PATH or postgresql[+psycopg]://" in line


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_db_upgrade_on_postgresql_with_the_url_users_write(scheme: str, postgres_url: str, monkeypatch) -> None:
    monkeypatch.setenv("SECURENET_DATABASE_URL", postgres_url.replace("postgresql+psycopg", scheme, 1))
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["tenants", "list"])
    assert listed.exit_code == 0, listed.output


def test_config_lists_every_setting_with_secrets_masked(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SECURENET_ADMIN_KEY", "admin-s3cret-0123456789")
    monkeypatch.setenv("SECURENET_MODEL_KEY", "model-s3cret-0123456789")
    monkeypatch.setenv("SECURENET_DATABASE_URL", "postgres://app:db-s3cret@db.example/app")
    monkeypatch.setenv("SECURENET_REDIS_URL", "redis://:redis-s3cret@cache.example:6379/0")
    monkeypatch.setenv("SECURENET_MCP_UPSTREAMS", '["docs=http://127.0.0.1:9000/mcp"]')
    (tmp_path / "policy.yaml").write_text("default_action: warn\n")
    monkeypatch.setenv("SECURENET_MCP_POLICY_FILE", str(tmp_path / "policy.yaml"))
    monkeypatch.setenv("SECURENET_RATE_LIMIT_PER_MINUTE", "42")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=otel-s3cret,authorization=Bearer%20s3cret")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    config = json.loads(result.stdout)
    assert set(config) == set(Settings.model_fields)
    assert set(TelemetrySettings.model_fields) <= set(config["telemetry"])
    assert config["admin_key"] == config["model_key"] == "***"
    assert config["database_url"] == "postgresql+psycopg://app:***@db.example/app"
    assert config["redis_url"] == "redis://:***@cache.example:6379/0"
    assert config["mcp_upstreams"] == ["docs=http://127.0.0.1:9000/mcp"]
    assert config["mcp_policy_file"] == str(tmp_path / "policy.yaml")
    assert config["rate_limit_per_minute"] == 42
    assert config["telemetry"]["otlp"]["traces"]["headers"] == {"x-honeycomb-team": "***", "authorization": "***"}


def test_config_shows_unset_secrets_as_null() -> None:
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    config = json.loads(result.stdout)
    assert config["admin_key"] is None and config["model_key"] is None and config["redis_url"] is None
    assert config["database_url"].startswith("sqlite:///")


def _environment_variables() -> set[str]:
    names = {f"SECURENET_{name.upper()}" for name in Settings.model_fields if name != "telemetry"}
    names |= {str(field.validation_alias) for field in TelemetrySettings.model_fields.values()}
    return {name for name in names if name.startswith("SECURENET_")}


def test_the_configuration_reference_lists_exactly_the_settings() -> None:
    text = (ROOT / "docs/configuration.md").read_text()
    documented = re.findall(r"^\| `(SECURENET_[A-Z_]+)` \|", text, flags=re.MULTILINE)
    assert len(documented) == len(set(documented))
    assert set(documented) == _environment_variables()
    assert "docs/configuration.md" in (ROOT / "README.md").read_text()
