"""Several processes migrating one SQLite file at once (every server worker does at start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from securenet.store.database import Database

MIGRATE = "import sys; from securenet.store.database import Database; Database(sys.argv[1]).upgrade()"


def test_parallel_sqlite_migrations_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    processes = [subprocess.Popen([sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE) for _ in range(4)]
    results = [(p.wait(60), p.stderr.read().decode() if p.stderr else "") for p in processes]
    for process in processes:
        if process.stderr:
            process.stderr.close()
    assert [code for code, _ in results] == [0, 0, 0, 0], [err[-500:] for _, err in results]
    db = Database(url)
    assert "detections" in inspect(db.engine).get_table_names()
    db.dispose()
