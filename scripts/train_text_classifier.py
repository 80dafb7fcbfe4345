"""Train the MCP prompt-injection text classifier and write ``text_classifier.json``.

Training data (nothing else; never the bastioncorpus test half):

* ``tests/mcp/fixtures/{attacks,benign}.jsonl``, every channel but ``tool_arguments``;
* the bastioncorpus *dev* half, split by :func:`tests.mcp.corpus.split_dev_test`
  exactly as ``benchmarks/mcp_detection.py`` splits it;
* benign ``tool_output``: the READMEs of the installed distributions listed in
  ``scripts/classifier_readmes.txt`` (those pinned in ``requirements/constraints.txt`` when the
  model was trained, so a dev machine with extra tools, CI, and a later dependency all train on
  the same texts; SecureNet's own README is never used), cut into the same windows the classifier
  scores, plus up to 40 prose sentences of each, except the third of the distributions that
  :func:`readme_is_held_out` keeps for measuring.

``--search`` can also add labelled rows shipped in two small MIT-licensed PyPI packages,
``agent-injection-bench`` (injected texts, canary codes removed; ``control`` rows benign) and
``jailbreak-corpus-mini-py`` (``pip install`` both first). Cross-validated on the rows above,
they lowered recall at the same false-positive budget, so the chosen setting leaves them out
and they are not dependencies.

The hyperparameters below were chosen with ``--search`` (grouped, stratified 5-fold
cross-validation, repeated, on the training data only). A plain run cross-validates the
chosen setting to set the two thresholds, records the figures, fits on all training data and
writes the model. Everything is seeded, so a rerun writes the same file.

    python scripts/train_text_classifier.py [--search] [--out PATH] [--check]

``--check`` writes nothing and exits 1 when the shipped model differs from a fresh one.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.resources
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from securenet.mcp.analyzers import RULE_ANALYZERS, analyze_text, normalize, risk_score
from securenet.mcp.analyzers._classifier import (
    MODEL_FORMAT,
    MODEL_PATH,
    TextClassifier,
    featurize,
    text_windows,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.mcp.corpus import (
    LabelledText,
    load_bastion,
    load_fixtures,
    load_package_readmes,
    readme_is_held_out,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "mcp" / "fixtures"
SEED = 20250612
FLAG = 0.7
"""A text is flagged when ``risk_score >= FLAG``, as in the benchmark and the gateway's default policy."""


@dataclass(frozen=True)
class Setting:
    """Hyperparameters of one fit."""

    c: float = 32.0
    readme_weight: float = 0.1
    max_features: int = 12000
    window_chars: int = 512
    max_windows: int = 6
    packages: bool = False
    lines_per_readme: int = 40


CHOSEN = Setting()
"""The setting ``--search`` chose (see the module docstring)."""

FOLDS = 5
REPEATS = 2
MAX_FPR = 0.02
"""Thresholds are the lowest whose out-of-fold FPR stays at or below this on each benign source."""
THRESHOLD_GRID = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))


@dataclass(frozen=True)
class Doc:
    """One training unit: a labelled text, its source, its CV group and its sample weight."""

    row: LabelledText
    source: str
    group: str
    normalized: str
    windows: tuple[str, ...]


# -- data ----------------------------------------------------------------------------------

_CANARY_RE = re.compile(r"\s*AIB-CANARY-[A-Z0-9]+")
_AIB_CHANNELS = {"user_message": "user_input"}


def load_package_rows() -> list[LabelledText]:
    """Labelled rows shipped in ``agent-injection-bench`` and ``jailbreak-corpus-mini-py``."""
    rows = []
    aib = importlib.resources.files("aib") / "data" / "attacks.jsonl"
    for line in aib.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        text = _CANARY_RE.sub("", d["injected"]).strip()
        channel = _AIB_CHANNELS.get(d["channel"], "tool_output")
        attack = d["family"] != "control"
        rows.append(LabelledText(text, channel, attack, d["family"], "aib:" + d["id"]))  # type: ignore[arg-type]
    mini = importlib.resources.files("jailbreak_corpus_mini") / "corpus.json"
    for d in json.loads(mini.read_text(encoding="utf-8")):
        rows.append(LabelledText(d["prompt"], "user_input", True, d["category"], "mini:" + d["id"]))
    return rows


#: The distributions whose READMEs are training texts: those pinned when the shipped model was trained.
README_DISTRIBUTIONS = ROOT / "scripts" / "classifier_readmes.txt"


def _canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def pinned_distributions() -> frozenset[str]:
    """Names listed in ``scripts/classifier_readmes.txt`` (one per line, ``#`` comments)."""
    names = set()
    for line in README_DISTRIBUTIONS.read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.add(_canonical_name(name))
    return frozenset(names)


def readme_body(metadata: str) -> str:
    """The long description of a ``METADATA`` file: what follows the first blank line."""
    _, sep, body = metadata.partition("\n\n")
    return body if sep else metadata


def training_docs(setting: Setting) -> list[Doc]:
    bastion = load_bastion()
    if bastion is None:
        raise SystemExit("bastioncorpus is not installed: pip install -e '.[dev]'")
    dev, _test, _version = bastion  # the test half is never used here
    docs = []

    def add(row: LabelledText, source: str, group: str) -> None:
        text = normalize(row.text).text
        spans = text_windows(text, setting.window_chars)
        docs.append(Doc(row, source, group, text, tuple(text[a:b] for a, b in spans)))

    for row in load_fixtures(FIXTURES):
        if row.channel != "tool_arguments":
            add(row, "fixtures", row.ident)
    for row in dev:
        add(row, "bastion_dev", row.ident)
    if setting.packages:
        for row in load_package_rows():
            add(row, "packages", row.ident)
    pinned = pinned_distributions()
    for row in load_package_readmes():
        if readme_is_held_out(row.ident) or _canonical_name(row.ident) not in pinned:
            continue
        body = readme_body(row.text)
        add(LabelledText(body, row.channel, False, row.category, row.ident), "readme", row.ident)
        for i, line in enumerate(readme_lines(body, setting.lines_per_readme)):
            add(LabelledText(line, row.channel, False, "readme_line", f"{row.ident}:{i}"), "readme_lines", row.ident)
    return docs


_SENTENCE_RE = re.compile(r"[^\n.!?]*[A-Za-z][^\n.!?]*[.!?]?")


def readme_lines(body: str, limit: int) -> list[str]:
    """Up to ``limit`` prose sentences of a README (20 to 300 characters, mostly letters), in order.

    Whole READMEs teach the model what long benign text looks like; these teach it short
    benign text, which is what user messages, tool descriptions and most tool results are.
    """
    seen: set[str] = set()
    out: list[str] = []
    for m in _SENTENCE_RE.finditer(body):
        s = m.group().strip(" #*->|`_")
        letters = sum(c.isalpha() or c == " " for c in s)
        if 20 <= len(s) <= 300 and letters >= 0.8 * len(s) and s not in seen:
            seen.add(s)
            out.append(s)
            if len(out) >= limit:
                break
    return out


def data_digest(docs: Sequence[Doc]) -> str:
    h = hashlib.sha256()
    for d in docs:
        h.update(json.dumps([d.source, d.row.ident, d.row.attack, d.row.text]).encode("utf-8"))
    return h.hexdigest()


# -- fitting -------------------------------------------------------------------------------


def _identity(text: str) -> list[str]:
    return featurize(text)


def fit(docs: Sequence[Doc], setting: Setting) -> dict[str, Any]:
    """Fit on every window of ``docs``; return the model as the JSON-ready dict."""
    texts: list[str] = []
    labels: list[int] = []
    weights: list[float] = []
    for d in docs:
        for w in d.windows:
            texts.append(w)
            labels.append(int(d.row.attack))
            weights.append(setting.readme_weight if d.source.startswith("readme") else 1.0)
    y = np.array(labels)
    sw = np.array(weights)
    # Balance the classes by total weight.
    pos = sw[y == 1].sum()
    neg = sw[y == 0].sum()
    sw = np.where(y == 1, sw * (pos + neg) / (2 * pos), sw * (pos + neg) / (2 * neg))

    def one_fit(vocabulary: list[str] | None) -> tuple[TfidfVectorizer, LogisticRegression]:
        vec = TfidfVectorizer(
            analyzer=_identity, min_df=1 if vocabulary else 2, sublinear_tf=True, vocabulary=vocabulary
        )
        x = vec.fit_transform(texts)
        clf = LogisticRegression(C=setting.c, solver="liblinear", max_iter=1000, random_state=0)
        clf.fit(x, y, sample_weight=sw)
        return vec, clf

    vec, clf = one_fit(None)
    names = vec.get_feature_names_out()
    coef = clf.coef_[0]
    if len(names) > setting.max_features:
        # The strongest features by |weight|, ties broken by name, refit on those alone.
        order = sorted(range(len(names)), key=lambda i: (-abs(coef[i]), names[i]))
        vec, clf = one_fit(sorted(str(names[i]) for i in order[: setting.max_features]))
        names = vec.get_feature_names_out()
        coef = clf.coef_[0]
    idf = vec.idf_
    features = {str(n): [_round(float(c * i)), _round(float(i))] for n, c, i in zip(names, coef, idf, strict=True)}
    return {
        "format": MODEL_FORMAT,
        "intercept": _round(float(clf.intercept_[0])),
        "threshold": 0.5,
        "medium_threshold": 0.5,
        "window_chars": setting.window_chars,
        "max_windows": setting.max_windows,
        "features": dict(sorted(features.items())),
    }


def _round(x: float) -> float:
    return float(f"{x:.6g}")


# -- cross-validation ----------------------------------------------------------------------


@dataclass
class OutOfFold:
    """Out-of-fold probability (mean over repeats) of each doc's most suspicious scored window."""

    docs: list[Doc]
    proba: np.ndarray


def cross_validate(docs: list[Doc], setting: Setting, log: Callable[[str], None]) -> OutOfFold:
    # Package rows are training-only: they are in every training fold and never scored.
    # README sentences are grouped with their README and trained on, but not scored.
    scored = [i for i, d in enumerate(docs) if d.source not in ("packages", "readme_lines")]
    extra = [d for d in docs if d.source == "packages"]
    lines: dict[str, list[Doc]] = {}
    for d in docs:
        if d.source == "readme_lines":
            lines.setdefault(d.group, []).append(d)
    y = np.array([int(docs[i].row.attack) for i in scored])
    groups = np.array([docs[i].group for i in scored])
    total = np.zeros(len(docs))
    for repeat in range(REPEATS):
        folds = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=SEED + repeat)
        for k, (train_idx, test_idx) in enumerate(folds.split(np.zeros(len(scored)), y, groups)):
            train = [docs[scored[i]] for i in train_idx]
            train += [x for d in train for x in lines.get(d.group, ()) if d.source == "readme"]
            model = TextClassifier.from_dict(fit(train + extra, setting))
            for i in test_idx:
                d = docs[scored[i]]
                total[scored[i]] += model.best_window(d.normalized)[0]
            log(f"  repeat {repeat + 1} fold {k + 1}/{FOLDS}")
    return OutOfFold([docs[i] for i in scored], total[scored] / REPEATS)


def _rules_scores(docs: Sequence[Doc]) -> np.ndarray:
    return np.array([risk_score(analyze_text(d.row.text, d.row.channel, RULE_ANALYZERS)) for d in docs])


def _classifier_score(p: float, threshold: float, medium: float) -> float:
    """The risk a classifier finding adds, as :class:`TextClassifierAnalyzer` would grade it."""
    if p >= threshold:
        return 0.7 + 0.2 * (p - threshold) / (1.0 - threshold)
    if p >= medium:
        return 0.45 + 0.25 * 0.9 * (p - medium) / (threshold - medium)
    return 0.0


def figures(oof: OutOfFold, rules: np.ndarray, threshold: float, medium: float | None) -> dict[str, dict[str, float]]:
    """Recall (attack rows) and FPR (benign rows) per source, classifier alone and with the rules."""
    out: dict[str, dict[str, float]] = {}
    for source in sorted({d.source for d in oof.docs}):
        idx = [i for i, d in enumerate(oof.docs) if d.source == source]
        att = [i for i in idx if oof.docs[i].row.attack]
        ben = [i for i in idx if not oof.docs[i].row.attack]
        alone = oof.proba >= threshold
        med = threshold if medium is None else medium
        combined = np.array(
            [
                1 - (1 - rules[i]) * (1 - _classifier_score(oof.proba[i], threshold, med)) >= FLAG
                for i in range(len(rules))
            ]
        )
        stats: dict[str, float] = {"attack": len(att), "benign": len(ben)}
        if att:
            stats["recall_classifier"] = float(alone[att].mean())
            stats["recall_rules"] = float((rules[att] >= FLAG).mean())
            stats["recall_combined"] = float(combined[att].mean())
        if ben:
            stats["fpr_classifier"] = float(alone[ben].mean())
            stats["fpr_rules"] = float((rules[ben] >= FLAG).mean())
            stats["fpr_combined"] = float(combined[ben].mean())
        out[source] = {k: round(v, 4) for k, v in stats.items()}
    return out


def _within_budget(f: dict[str, dict[str, float]], key: str) -> bool:
    return all(s.get(key, 0.0) <= MAX_FPR for s in f.values())


def _pooled_recall(f: dict[str, dict[str, float]], key: str) -> float:
    hits = sum(s[key] * s["attack"] for s in f.values() if s["attack"])
    return hits / sum(s["attack"] for s in f.values())


def choose_thresholds(oof: OutOfFold, rules: np.ndarray) -> tuple[float, float]:
    """Lowest high threshold whose classifier-alone OOF FPR is in budget on every source, then
    the lowest medium threshold that keeps the combined FPR in budget (ties: the higher one)."""
    threshold = next(
        (t for t in THRESHOLD_GRID if _within_budget(figures(oof, rules, t, None), "fpr_classifier")),
        THRESHOLD_GRID[-1],
    )
    best = (threshold, _pooled_recall(figures(oof, rules, threshold, None), "recall_combined"))
    for m in sorted((t for t in THRESHOLD_GRID if t < threshold), reverse=True):
        f = figures(oof, rules, threshold, m)
        if not _within_budget(f, "fpr_combined"):
            break
        recall = _pooled_recall(f, "recall_combined")
        if recall > best[1]:
            best = (m, recall)
    return threshold, best[0]


# -- entry points --------------------------------------------------------------------------


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def search() -> None:
    """Cross-validate a small grid and print it (the basis for :data:`CHOSEN`)."""
    grid = [
        Setting(c=c, readme_weight=rw, packages=pk)
        for c, rw, pk in [
            # Out-of-fold recall of the classifier alone at its chosen threshold (FPR <= 0.02 on every source),
            # first pass: 2/0.1/pkgs 0.408, 2/0.1/- 0.500, 2/0.3/pkgs 0.292; second pass: 8/0.1/- 0.558,
            # 32/0.1/- 0.600 (chosen), 8/0.03/- 0.550, 8/0.1/pkgs 0.475.
            (2.0, 0.1, True),
            (2.0, 0.1, False),
            (2.0, 0.3, True),
            (8.0, 0.1, False),
            (32.0, 0.1, False),
            (8.0, 0.03, False),
            (8.0, 0.1, True),
        ]
    ]
    docs_by_packages: dict[bool, list[Doc]] = {}
    rules_by_rows: dict[tuple[str, ...], np.ndarray] = {}
    print(f"{'C':>5} {'readme_w':>8} {'max_feat':>8} {'pkgs':>5}  thr   med   recall(clf) recall(comb)  per-source")
    for s in grid:
        if s.packages not in docs_by_packages:
            docs_by_packages[s.packages] = training_docs(s)
        oof = cross_validate(docs_by_packages[s.packages], s, lambda _m: None)
        key = tuple(d.row.ident for d in oof.docs)
        if key not in rules_by_rows:
            rules_by_rows[key] = _rules_scores(oof.docs)
        rules = rules_by_rows[key]
        t, m = choose_thresholds(oof, rules)
        f = figures(oof, rules, t, m)
        print(
            f"{s.c:>5} {s.readme_weight:>8} {s.max_features:>8} {s.packages!s:>5}  {t:.2f}  {m:.2f}"
            f"  {_pooled_recall(f, 'recall_classifier'):>10.3f} {_pooled_recall(f, 'recall_combined'):>12.3f}  "
            + json.dumps(
                {k: {kk: v for kk, v in val.items() if kk.startswith(("recall", "fpr"))} for k, val in f.items()}
            ),
            flush=True,
        )


def train(setting: Setting = CHOSEN, log: Callable[[str], None] = _log) -> dict[str, Any]:
    """Cross-validate ``setting`` for the thresholds, fit on everything, return the model dict."""
    started = time.perf_counter()
    docs = training_docs(setting)
    log(f"{len(docs)} training texts, {sum(len(d.windows) for d in docs)} windows; cross-validating")
    oof = cross_validate(docs, setting, log)
    rules = _rules_scores(oof.docs)
    threshold, medium = choose_thresholds(oof, rules)
    cv = figures(oof, rules, threshold, medium)
    model = fit(docs, setting)
    model["threshold"] = threshold
    model["medium_threshold"] = medium
    counts: dict[str, dict[str, int]] = {}
    for d in docs:
        c = counts.setdefault(d.source, {"attack": 0, "benign": 0})
        c["attack" if d.row.attack else "benign"] += 1
    model["metadata"] = {
        "trained_by": "scripts/train_text_classifier.py",
        "data": counts,
        "data_sha256": data_digest(docs),
        "bastioncorpus": importlib.metadata.version("bastioncorpus"),
        "setting": setting.__dict__,
        "cv": {"folds": FOLDS, "repeats": REPEATS, "max_fpr": MAX_FPR, "figures": cv},
    }
    elapsed = time.perf_counter() - started
    log(f"threshold {threshold}, medium {medium}; {len(model['features'])} features; {elapsed:.1f} s")
    return model


def dump(model: dict[str, Any]) -> str:
    return json.dumps(model, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", action="store_true", help="cross-validate the hyperparameter grid and print it")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--check", action="store_true", help="compare a fresh model with the shipped one")
    args = parser.parse_args(argv)
    if args.search:
        search()
        return 0
    text = dump(train())
    if args.check:
        same = MODEL_PATH.read_text(encoding="utf-8") == text
        print("shipped model is up to date" if same else "shipped model differs from a fresh one")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text) / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
