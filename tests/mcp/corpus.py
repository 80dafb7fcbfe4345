"""Labelled texts for measuring and training the analyzers, and the one bastioncorpus split.

``benchmarks/mcp_detection.py`` and ``scripts/train_text_classifier.py`` both load their data
here, so the classifier is trained on exactly the rows the benchmark calls *dev* and never
on its *test* half. It is training and measuring code, so it lives beside the fixtures it
reads, outside the ``securenet`` package.

* :func:`load_fixtures`: ``tests/mcp/fixtures/{attacks,benign}.jsonl`` (pass the folder).
* :func:`load_bastion`: the PyPI ``bastioncorpus`` package (a dev dependency), split by
  :func:`split_dev_test` into a dev and a held-out test half.
* :func:`load_package_readmes`: the long descriptions of installed distributions, benign
  ``tool_output``; :func:`readme_is_held_out` keeps a third of them out of training.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from securenet.mcp.analyzers import CHANNELS, Channel

__all__ = [
    "SPLIT_SEED",
    "LabelledText",
    "load_bastion",
    "load_fixtures",
    "load_package_readmes",
    "readme_is_held_out",
    "split_dev_test",
]

SPLIT_SEED: Final = 20250611
"""Seed of the bastioncorpus dev/test split. Changing it leaks the test half into training."""


@dataclass(frozen=True)
class LabelledText:
    """One labelled text: what it says, where it travels, whether it is an attack."""

    text: str
    channel: Channel
    attack: bool
    category: str
    ident: str


def load_fixtures(folder: Path) -> list[LabelledText]:
    """The rows of ``attacks.jsonl`` and ``benign.jsonl`` in ``folder``, in file order."""
    rows = []
    for name in ("attacks.jsonl", "benign.jsonl"):
        for i, line in enumerate((folder / name).read_text(encoding="utf-8").splitlines()):
            d = json.loads(line)
            rows.append(LabelledText(d["text"], d["channel"], d["label"] == "attack", d["category"], f"{name}:{i + 1}"))
    return rows


def split_dev_test(
    rows: Sequence[LabelledText], seed: int = SPLIT_SEED
) -> tuple[list[LabelledText], list[LabelledText]]:
    """Halve ``rows`` once, seeded and stratified by label: ``(dev, test)``.

    Each label's rows are sorted by id, shuffled with ``seed`` and cut in half (the odd row
    goes to test), so the split depends on the row ids only, not on their order.
    """
    dev: list[LabelledText] = []
    test: list[LabelledText] = []
    rng = random.Random(seed)  # a reproducible split, not a secret
    for label in (True, False):
        group = sorted((r for r in rows if r.attack is label), key=lambda r: r.ident)
        rng.shuffle(group)
        half = len(group) // 2
        dev += group[:half]
        test += group[half:]
    return dev, test


def load_bastion() -> tuple[list[LabelledText], list[LabelledText], str] | None:
    """``(dev, test, version)`` of bastioncorpus, or ``None`` when it is not installed.

    Channels the analyzers do not know (``memory``) are read as ``tool_output``.
    """
    try:
        import bastioncorpus  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    rows = []
    for r in bastioncorpus.load_corpus():
        channel = r.channel if r.channel in CHANNELS else "tool_output"
        rows.append(LabelledText(r.stripped(), cast(Channel, channel), r.is_malicious, r.category, r.id))
    dev, test = split_dev_test(rows)
    return dev, test, str(bastioncorpus.__version__)


def load_package_readmes(min_chars: int = 500) -> list[LabelledText]:
    """``METADATA`` of every installed distribution longer than ``min_chars``, by name.

    A distribution installed twice (two ``.dist-info`` on the path) counts once.
    """
    by_name: dict[str, LabelledText] = {}
    for dist in importlib.metadata.distributions():
        name = str(dist.metadata["Name"])
        text = dist.read_text("METADATA") or ""
        if len(text) > min_chars and name.lower() not in by_name:
            by_name[name.lower()] = LabelledText(text, "tool_output", False, "package_readme", name)
    return [by_name[k] for k in sorted(by_name)]


def readme_is_held_out(name: str) -> bool:
    """Whether a distribution's README is kept out of classifier training (about a third are)."""
    digest = hashlib.sha256(name.lower().encode("utf-8")).digest()
    return digest[0] % 3 == 0
