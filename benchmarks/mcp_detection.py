"""Detection quality of the MCP text analyzers: precision, recall and FPR per channel and category.

Every corpus is scored twice in the same run: by the rules alone (``RULE_ANALYZERS``) and by
the rules plus the learned text classifier (``DEFAULT_ANALYZERS``; the classifier is
``TextClassifierAnalyzer``, trained by ``scripts/train_text_classifier.py``).

Corpora:

* ``fixtures``: ``tests/mcp/fixtures/{attacks,benign}.jsonl``, paraphrases of public MCP
  tool-poisoning and prompt-injection write-ups plus realistic benign traffic. The rules
  were written alongside it and the classifier is trained on it, so its figures are
  optimistic.
* ``bastioncorpus`` (PyPI, if installed): a published prompt-injection corpus with benign
  false-positive traps. It is split once, seeded and stratified by label
  (``tests/mcp/corpus.py``, ``split_dev_test``), into a *dev* half (looked at while
  writing rules; the classifier is trained on it) and a *test* half (never looked at, never
  trained on; its errors are not printed). Both halves are reported.
* ``package READMEs``: the long descriptions (``METADATA``) of every installed
  distribution, read as benign ``tool_output``. Real-world Markdown with badges, code,
  and words like "token", "ignore" and "system"; it measures FPR only. Its false positives
  were looked at (and fixed) while writing rules, and two thirds of it train the
  classifier; the third it never saw (``readme_is_held_out``) is reported on its own too.

A text counts as flagged when ``risk_score(findings) >= THRESHOLD`` (0.7: at least one
high finding, or several weaker ones). Run: ``python benchmarks/mcp_detection.py
[--split dev|test|both] [--errors]`` (``--errors`` lists misclassified fixture and dev rows).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from securenet.mcp.analyzers import RULE_ANALYZERS, TextClassifierAnalyzer, analyze_text, risk_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.mcp.corpus import (
    SPLIT_SEED,
    LabelledText,
    load_bastion,
    load_fixtures,
    load_package_readmes,
    readme_is_held_out,
)

THRESHOLD = 0.7
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "mcp" / "fixtures"
CLASSIFIER = TextClassifierAnalyzer()


@dataclass(frozen=True)
class Scored:
    row: LabelledText
    rules_score: float
    combined_score: float
    rules: tuple[str, ...]
    classifier_seconds: float

    @property
    def rules_flagged(self) -> bool:
        return self.rules_score >= THRESHOLD

    @property
    def combined_flagged(self) -> bool:
        return self.combined_score >= THRESHOLD


def score(rows: Iterable[LabelledText]) -> list[Scored]:
    out = []
    for row in rows:
        findings = analyze_text(row.text, row.channel, RULE_ANALYZERS)
        started = time.perf_counter()
        learned = analyze_text(row.text, row.channel, (CLASSIFIER,))
        elapsed = time.perf_counter() - started
        rule_ids = tuple(sorted({f.rule_id for f in findings + learned}))
        out.append(Scored(row, risk_score(findings), risk_score(findings + learned), rule_ids, elapsed))
    return out


def _fmt(num: int, den: int) -> str:
    return f"{num / den:6.3f}" if den else "     -"


def _counts(group: Sequence[Scored], combined: bool) -> str:
    flags = [(s.combined_flagged if combined else s.rules_flagged, s.row.attack) for s in group]
    tp = sum(f and a for f, a in flags)
    fn = sum(not f and a for f, a in flags)
    fp = sum(f and not a for f, a in flags)
    tn = sum(not f and not a for f, a in flags)
    return f"{tp:>4}{fn:>4}{fp:>4}{tn:>5} {_fmt(tp, tp + fp)}{_fmt(tp, tp + fn)}{_fmt(fp, fp + tn)}"


def report(title: str, scored: Sequence[Scored]) -> None:
    print(f"\n== {title}: {len(scored)} rows ({sum(s.row.attack for s in scored)} attack)")
    head = f"{'TP':>4}{'FN':>4}{'FP':>4}{'TN':>5} {'prec':>6}{'recall':>6}{'FPR':>6}"
    print(f"{'':<36}{'':>5} | {'rules only':^37} | {'rules + classifier':^37}")
    print(f"{'group':<36}{'n':>5} | {head} | {head}")

    def line(name: str, group: Sequence[Scored]) -> None:
        print(f"{name:<36}{len(group):>5} | {_counts(group, False)} | {_counts(group, True)}")

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
    _cost(scored)


def _cost(scored: Sequence[Scored]) -> None:
    if not scored:
        return
    micros = sorted(s.classifier_seconds * 1e6 for s in scored)
    chars = sorted(len(s.row.text) for s in scored)
    print(
        f"   classifier: {sum(micros) / len(micros):.0f} us per message on average,"
        f" median {micros[len(micros) // 2]:.0f} us, max {micros[-1]:.0f} us"
        f" (median text {chars[len(chars) // 2]} chars, longest {chars[-1]})"
    )


def show_errors(title: str, scored: Sequence[Scored]) -> None:
    wrong = [s for s in scored if s.combined_flagged != s.row.attack or s.rules_flagged != s.row.attack]
    print(f"\n-- {title}: {len(wrong)} misclassified by the rules or the combination")
    for s in wrong:
        kind = "FN" if s.row.attack else "FP"
        text = s.row.text.replace("\n", " ")[:150]
        print(
            f"{kind} rules {s.rules_score:.2f} combined {s.combined_score:.2f} {s.row.ident} "
            f"[{s.row.channel}/{s.row.category}] {list(s.rules)} {text!r}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--errors", action="store_true", help="list misclassified fixture and dev rows")
    args = parser.parse_args(argv)

    print(f"MCP analyzer detection quality (flagged = risk_score >= {THRESHOLD})")
    CLASSIFIER.analyze("warm-up: load the model", "user_input")
    started = time.perf_counter()
    fixtures = score(load_fixtures(FIXTURES))
    elapsed = time.perf_counter() - started
    report("fixtures (tests/mcp/fixtures)", fixtures)
    print(f"   {elapsed / len(fixtures) * 1e3:.2f} ms per text on average, rules and classifier")
    if args.errors:
        show_errors("fixtures", fixtures)

    readmes = load_package_readmes()
    started = time.perf_counter()
    readme_scored = score(readmes)
    elapsed = time.perf_counter() - started
    chars = sum(len(r.text) for r in readmes)
    report("installed package READMEs as tool output (benign only)", readme_scored)
    print(f"   {chars / 1e6:.2f} MB in {elapsed:.1f} s ({elapsed / chars * 1e6:.1f} us per character)")
    report(
        "  of which READMEs the classifier never saw",
        [s for s in readme_scored if readme_is_held_out(s.row.ident)],
    )
    if args.errors:
        show_errors("package READMEs", readme_scored)

    bastion = load_bastion()
    if bastion is None:
        print("\nbastioncorpus is not installed (pip install bastioncorpus): skipped")
        return 0
    dev, test, version = bastion
    if args.split in ("dev", "both"):
        dev_scored = score(dev)
        report(
            f"bastioncorpus {version} dev half (seed {SPLIT_SEED}; rules written and classifier trained on it)",
            dev_scored,
        )
        if args.errors:
            show_errors("bastioncorpus dev", dev_scored)
    if args.split in ("test", "both"):
        report(f"bastioncorpus {version} test half (held out; errors not shown)", score(test))
    return 0


if __name__ == "__main__":
    sys.exit(main())
