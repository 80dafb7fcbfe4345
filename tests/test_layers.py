"""The rooms' import contracts (pyproject.toml, [tool.importlinter]) hold, and `lint-imports` catches a breach.

Each breach is one import added to a copy of the package; `make lint` runs the same command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the package and its contracts, to break."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        ROOT / "src" / "securenet", tmp_path / "src" / "securenet", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def test_the_package_keeps_every_contract() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_copy_keeps_every_contract_before_it_is_broken(project: Path) -> None:
    result = _lint_imports(project)
    assert result.returncode == 0, result.stdout + result.stderr


BREACHES = {
    # A domain room importing another: both the peers and the layers contract.
    "netsec imports mcp": ("netsec/flows.py", "import securenet.mcp.policy", ["Domain rooms are peers", "one way"]),
    "store imports netsec": ("store/schema.py", "import securenet.netsec.verdicts", ["Domain rooms are peers"]),
    "mcp imports store": ("mcp/pins.py", "import securenet.store.database", ["Domain rooms are peers"]),
    # A room importing one above it.
    "store imports orchestrator": ("store/database.py", "import securenet.orchestrator", ["one way"]),
    "orchestrator imports api": ("orchestrator/policies.py", "import securenet.api.problems", ["one way"]),
    "worker imports cli": ("worker.py", "import securenet.cli", ["one way"]),
    "telemetry imports config": ("telemetry/_metrics.py", "import securenet.config", ["one way"]),
    # netsec -> config is against the layers, and through config (which imports mcp) against the peers.
    "netsec imports config": ("netsec/service.py", "import securenet.config", ["one way", "Domain rooms are peers"]),
    # The package root states the version, and imports no room for it.
    "the root imports telemetry": ("__init__.py", "import securenet.telemetry", ["package root"]),
}


@pytest.mark.parametrize(("module", "line", "contracts"), BREACHES.values(), ids=BREACHES.keys())
def test_an_import_against_the_contract_fails_lint(project: Path, module: str, line: str, contracts: list[str]) -> None:
    path = project / "src" / "securenet" / module
    path.write_text(path.read_text() + f"\n{line}  # breach\n")
    result = _lint_imports(project)
    assert result.returncode != 0, result.stdout
    assert "broken" in result.stdout
    for contract in contracts:
        assert contract in result.stdout.split("Broken contracts")[-1], result.stdout


def test_a_new_module_must_be_given_a_place_in_the_layers(project: Path) -> None:
    (project / "src" / "securenet" / "plugins.py").write_text('"""Somewhere no contract names."""\n')
    result = _lint_imports(project)
    assert result.returncode != 0, result.stdout
    assert "securenet.plugins" in result.stdout + result.stderr


def test_the_composition_root_sits_between_api_and_worker(project: Path) -> None:
    """runtime.py may build everything below it (worker, orchestrator, rooms); api and cli build on it."""
    runtime = project / "src" / "securenet" / "runtime.py"
    runtime.write_text("import securenet.config\nimport securenet.orchestrator\nimport securenet.worker\n")
    app = project / "src" / "securenet" / "api" / "app.py"
    app.write_text(app.read_text() + "\nimport securenet.runtime\n")
    kept = _lint_imports(project)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    runtime.write_text(runtime.read_text() + "import securenet.api.deps\n")
    broken = _lint_imports(project)
    assert broken.returncode != 0, broken.stdout
    assert "securenet.runtime is not allowed to import securenet.api" in broken.stdout


def test_the_package_root_loads_no_room(tmp_path: Path) -> None:
    """``import securenet`` gives the version without loading telemetry (or anything else of ours)."""
    code = "\n".join(
        [
            "import sys, securenet",
            "print(securenet.__version__)",
            "print(sorted(name for name in sys.modules if name.startswith('securenet.')))",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    version, loaded = result.stdout.splitlines()
    assert version and loaded == "[]"
