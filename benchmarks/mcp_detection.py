"""Detection quality of the MCP text analyzers: precision, recall and FPR per channel and category.

Corpora:

* ``fixtures``: ``tests/mcp/fixtures/{attacks,benign}.jsonl``, paraphrases of public MCP
  tool-poisoning and prompt-injection write-ups plus realistic benign traffic. The rules
  were written alongside it, so its figures are optimistic.
* ``bastioncorpus`` (PyPI, if installed): a published prompt-injection corpus with benign
  false-positive traps. It is split once, seeded and stratified by label, into a *dev*
  half (looked at while writing rules) and a *test* half (never looked at; its errors
  are not printed). Both halves are reported.
* ``package READMEs``: the long descriptions (``METADATA``) of every installed
  distribution, read as benign ``tool_output``. Real-world Markdown with badges, code,
  and words like "token", "ignore" and "system"; it measures FPR only. Its false positives
  were looked at (and fixed) while writing rules, so treat it as a dev set too.

A text counts as flagged when ``risk_score(findings) >= THRESHOLD`` (0.7: at least one
high finding, or several weaker ones). Run: ``python benchmarks/mcp_detection.py
[--split dev|test|both] [--errors]`` (``--errors`` lists misclassified fixture and dev rows).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from securenet.mcp.analyzers import CHANNELS, Channel, analyze_text, risk_score

THRESHOLD = 0.7
SPLIT_SEED = 20250611
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "mcp" / "fixtures"


@dataclass(frozen=True)
class Row:
    text: str
    channel: Channel
    attack: bool
    category: str
    ident: str


@dataclass(frozen=True)
class Scored:
    row: Row
    score: float
    flagged: bool
    rules: tuple[str, ...]


def load_fixtures() -> list[Row]:
    rows = []
    for name in ("attacks.jsonl", "benign.jsonl"):
        for i, line in enumerate((FIXTURES / name).read_text(encoding="utf-8").splitlines()):
            d = json.loads(line)
            rows.append(Row(d["text"], d["channel"], d["label"] == "attack", d["category"], f"{name}:{i + 1}"))
    return rows


def load_bastion() -> tuple[list[Row], list[Row], str] | None:
    """``(dev, test, version)``, or ``None`` when the package is not installed."""
    try:
        import bastioncorpus  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    rows = []
    for r in bastioncorpus.load_corpus():
        channel = r.channel if r.channel in CHANNELS else "tool_output"
        rows.append(Row(r.stripped(), cast(Channel, channel), r.is_malicious, r.category, r.id))
    dev: list[Row] = []
    test: list[Row] = []
    rng = random.Random(SPLIT_SEED)
    for label in (True, False):
        group = sorted((r for r in rows if r.attack is label), key=lambda r: r.ident)
        rng.shuffle(group)
        half = len(group) // 2
        dev += group[:half]
        test += group[half:]
    return dev, test, str(bastioncorpus.__version__)


def load_package_readmes() -> list[Row]:
    rows = []
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: str(d.metadata["Name"]).lower()):
        text = dist.read_text("METADATA") or ""
        if len(text) > 500:
            rows.append(Row(text, "tool_output", False, "package_readme", str(dist.metadata["Name"])))
    return rows


def score(rows: Iterable[Row]) -> list[Scored]:
    out = []
    for row in rows:
        findings = analyze_text(row.text, row.channel)
        s = risk_score(findings)
        out.append(Scored(row, s, s >= THRESHOLD, tuple(sorted({f.rule_id for f in findings}))))
    return out


def _fmt(num: int, den: int) -> str:
    return f"{num / den:6.3f}" if den else "     -"


def report(title: str, scored: Sequence[Scored]) -> None:
    print(f"\n== {title}: {len(scored)} rows ({sum(s.row.attack for s in scored)} attack)")
    print(f"{'group':<34}{'n':>5}{'TP':>5}{'FN':>5}{'FP':>5}{'TN':>5}  precision  recall    FPR")

    def line(name: str, group: Sequence[Scored]) -> None:
        tp = sum(s.flagged and s.row.attack for s in group)
        fn = sum(not s.flagged and s.row.attack for s in group)
        fp = sum(s.flagged and not s.row.attack for s in group)
        tn = sum(not s.flagged and not s.row.attack for s in group)
        print(
            f"{name:<34}{len(group):>5}{tp:>5}{fn:>5}{fp:>5}{tn:>5}  {_fmt(tp, tp + fp):>9}{_fmt(tp, tp + fn):>8}"
            f"{_fmt(fp, fp + tn):>7}"
        )

    line("ALL", scored)
    by_channel: dict[str, list[Scored]] = defaultdict(list)
    by_category: dict[str, list[Scored]] = defaultdict(list)
    for s in scored:
        by_channel[s.row.channel].append(s)
        by_category[("attack/" if s.row.attack else "benign/") + s.row.category].append(s)
    for name in sorted(by_channel):
        line(f"channel {name}", by_channel[name])
    for name in sorted(by_category):
        line(f"  {name}", by_category[name])


def show_errors(title: str, scored: Sequence[Scored]) -> None:
    wrong = [s for s in scored if s.flagged != s.row.attack]
    print(f"\n-- {title}: {len(wrong)} misclassified")
    for s in wrong:
        kind = "FN" if s.row.attack else "FP"
        text = s.row.text.replace("\n", " ")[:150]
        print(f"{kind} {s.score:.2f} {s.row.ident} [{s.row.channel}/{s.row.category}] {list(s.rules)} {text!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--errors", action="store_true", help="list misclassified fixture and dev rows")
    args = parser.parse_args(argv)

    print(f"MCP analyzer detection quality (flagged = risk_score >= {THRESHOLD})")
    started = time.perf_counter()
    fixtures = score(load_fixtures())
    elapsed = time.perf_counter() - started
    report("fixtures (tests/mcp/fixtures)", fixtures)
    print(f"   {elapsed / len(fixtures) * 1e3:.2f} ms per text on average")
    if args.errors:
        show_errors("fixtures", fixtures)

    readmes = load_package_readmes()
    started = time.perf_counter()
    readme_scored = score(readmes)
    elapsed = time.perf_counter() - started
    chars = sum(len(r.text) for r in readmes)
    report("installed package READMEs as tool output (benign only)", readme_scored)
    print(f"   {chars / 1e6:.2f} MB in {elapsed:.1f} s ({elapsed / chars * 1e6:.1f} us per character)")
    if args.errors:
        show_errors("package READMEs", readme_scored)

    bastion = load_bastion()
    if bastion is None:
        print("\nbastioncorpus is not installed (pip install bastioncorpus): skipped")
        return 0
    dev, test, version = bastion
    if args.split in ("dev", "both"):
        dev_scored = score(dev)
        report(f"bastioncorpus {version} dev half (seed {SPLIT_SEED})", dev_scored)
        if args.errors:
            show_errors("bastioncorpus dev", dev_scored)
    if args.split in ("test", "both"):
        report(f"bastioncorpus {version} test half (held out; errors not shown)", score(test))
    return 0


if __name__ == "__main__":
    sys.exit(main())
