"""The suite needs nothing beside the repository: no test reads the development datasets folder."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# The development datasets folder beside the repository, written as one path or built from parts.
SHARED_DATASETS = re.compile("shared" + r"\W{1,8}" + "datasets")


def test_no_test_reads_the_shared_datasets_folder() -> None:
    # A fresh clone has nothing beside it; tests generate their data instead (tests/netsec/kdd.py for NSL-KDD).
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SHARED_DATASETS.search(line)
    ]
    assert offenders == []
