"""The work behind ``securenet train`` and ``securenet analyze``, streaming, through the orchestrator.

Kept out of cli.py so the CLI stays a thin parser, and so tests can call it directly. Reading
and writing files is this module's; training and detection are the orchestrator's
(:meth:`SecurityOrchestrator.train_detector`, :meth:`SecurityOrchestrator.detect_flows`),
the same code the API and the worker run. Every expected failure becomes a
:class:`CommandError` with a one-line message.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from securenet.config import Settings
from securenet.netsec.features import FeatureSchemaError
from securenet.netsec.labels import is_normal
from securenet.netsec.models import FlowAnomalyDetector, ModelError
from securenet.netsec.readers import FORMATS, MalformedInputError, ReadStats, RecordError, read_all, read_flows
from securenet.netsec.verdicts import LEVELS, Incident, merge_incidents
from securenet.orchestrator import SecurityOrchestrator

__all__ = ["FORMATS", "CommandError", "analyze", "train"]

#: Inputs larger than this get a progress bar on stderr.
PROGRESS_MIN_BYTES = 8 * 1024 * 1024
#: Rows listed in the table output (the most severe first); the summary covers all.
TABLE_ROWS = 50


class CommandError(Exception):
    """A failure the user can act on; its message is printed as is."""


def _with_skipped(text: str, positions: npt.NDArray[np.int64], skipped: tuple[tuple[int, RecordError], ...]) -> str:
    """Interleave an error object for each skipped record with the verdict lines, by index.

    So that ``--output ndjson`` has one line per input record, skipped ones included.
    """
    if not skipped:
        return text
    lines = [*text.splitlines(keepends=True), *(json.dumps({"index": i, "error": str(e)}) + "\n" for i, e in skipped)]
    order = np.argsort(np.concatenate([positions, np.array([i for i, _ in skipped], dtype=np.int64)]), kind="stable")
    return "".join(lines[i] for i in order.tolist())


def _report_skips(stats: ReadStats, err: TextIO) -> None:
    if stats.skipped:
        for error in stats.errors[:10]:
            err.write(f"warning: skipped {error}\n")
        more = stats.skipped - min(len(stats.errors), 10)
        tail = f" ({more} more not shown)" if more > 0 else ""
        err.write(f"warning: {stats.skipped} malformed record(s) skipped{tail}\n")


def train(
    file: Path,
    fmt: str,
    model_path: Path,
    *,
    normal_only: bool,
    on_error: str,
    settings: Settings,
    err: TextIO | None = None,
) -> dict[str, Any]:
    """Fit a model on ``file`` and write it to ``model_path``; returns a summary."""
    err = err or sys.stderr
    stats = ReadStats()
    try:
        chunk = read_all(str(file), fmt, on_error=on_error, stats=stats)  # type: ignore[arg-type]
    except (OSError, MalformedInputError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    _report_skips(stats, err)
    frame = chunk.frame
    if normal_only:
        if chunk.labels is None:
            raise CommandError(f"--normal-only needs labelled input, and {file} has no labels")
        frame = frame.loc[is_normal(chunk.labels)].reset_index(drop=True)
    try:
        detector = SecurityOrchestrator.offline().train_detector(frame)
        model_path.parent.mkdir(parents=True, exist_ok=True)
        detector.save(model_path, key=settings.model_key_bytes())
    except (ValueError, OSError) as exc:
        raise CommandError(f"training failed: {exc}") from exc
    return {
        "model": str(model_path),
        "training_rows": detector.n_training_rows,
        "skipped_records": stats.skipped,
        "threshold": detector.threshold,
        "components": list(detector.components),
        "features": len(detector.feature_names),
        "signed": settings.model_key_bytes() is not None,
    }


def load_detector(model_path: Path, settings: Settings) -> FlowAnomalyDetector:
    # A path named on the command line means what it means in the shell: relative to the
    # current directory. Made absolute first, so load() never joins it onto the model directory.
    model_path = model_path.resolve()
    # Such a model is trusted to live in its own directory unless SECURENET_MODEL_DIR says
    # where models must come from.
    model_dir = settings.model_dir if settings.model_dir is not None else model_path.parent
    try:
        return FlowAnomalyDetector.load(model_path, model_dir, key=settings.model_key_bytes())
    except (ModelError, OSError) as exc:
        raise CommandError(str(exc)) from exc


def analyze(
    file: Path,
    fmt: str,
    model_path: Path | None,
    *,
    output: str,
    on_error: str,
    settings: Settings,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> dict[str, Any]:
    """Stream ``file`` through the detection service and write verdicts to ``out``."""
    out = out or sys.stdout
    err = err or sys.stderr
    detector = load_detector(model_path, settings) if model_path is not None else None
    orchestrator = SecurityOrchestrator.offline()
    stats = ReadStats()
    counts = dict.fromkeys((name for name, _ in LEVELS), 0)
    by_source: dict[str, Incident] = {}
    collected: list[pd.DataFrame] = []
    total = 0
    show_progress = str(file) != "-" and file.exists() and file.stat().st_size >= PROGRESS_MIN_BYTES
    progress = Progress(
        TextColumn("analysing"),
        BarColumn(),
        TextColumn("{task.completed:,} flows"),
        TimeElapsedColumn(),
        console=Console(file=err),
        disable=not show_progress,
        transient=True,
    )
    try:
        with progress:
            task = progress.add_task("flows", total=None)
            for chunk in read_flows(str(file), fmt, on_error=on_error, stats=stats):  # type: ignore[arg-type]
                result = orchestrator.detect_flows("cli", chunk.frame, detector)
                verdicts = result.verdicts
                for level, count in verdicts.level_counts().items():
                    counts[level] += count
                positions = chunk.record_positions()
                position_of = positions.tolist()  # one conversion per chunk, not an array index per incident
                for incident in verdicts.incidents:
                    # Merge per source as chunks arrive: re-merging every incident seen so
                    # far on each chunk would cost time quadratic in the file's length.
                    shifted = dataclasses.replace(
                        incident, sample_rows=tuple(position_of[row] for row in incident.sample_rows)
                    )
                    seen = by_source.get(shifted.source)
                    by_source[shifted.source] = shifted if seen is None else merge_incidents([seen, shifted])[0]
                if output == "ndjson":
                    out.write(_with_skipped(verdicts.to_ndjson(first_index=positions), positions, chunk.skipped))
                else:
                    records = verdicts.to_frame(first_index=positions)
                    collected.append(records if output == "json" else records.loc[records["is_threat"]])
                total += len(verdicts)
                progress.update(task, completed=total)
    except (OSError, MalformedInputError, FeatureSchemaError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    _report_skips(stats, err)
    incidents = merge_incidents(by_source.values())
    summary = {
        "flows": total,
        "skipped_records": stats.skipped,
        "levels": counts,
        "threats": sum(v for k, v in counts.items() if k != "low"),
        "model": None if detector is None else str(model_path),
        "incidents": len(incidents),
    }
    if output == "json":
        verdict_frame = pd.concat(collected, ignore_index=True) if collected else pd.DataFrame()
        document = {
            "verdicts": json.loads(verdict_frame.to_json(orient="records")) if len(verdict_frame) else [],
            "incidents": [i.to_dict() for i in incidents],
            "summary": summary,
        }
        out.write(json.dumps(document) + "\n")
    elif output == "table":
        _print_table(collected, incidents, summary, out)
    return summary


def _print_table(
    collected: list[pd.DataFrame], incidents: list[Incident], summary: dict[str, Any], out: TextIO
) -> None:
    console = Console(file=out, width=160)
    threats = pd.concat(collected, ignore_index=True) if collected else pd.DataFrame()
    if len(threats):
        top = threats.sort_values("score", ascending=False, kind="stable").head(TABLE_ROWS)
        table = Table(title=f"Threats (the {len(top)} most severe of {len(threats)})")
        for column in ("index", "score", "level", "detectors", "explanation"):
            table.add_column(column)
        for row in top.itertuples(index=False):
            table.add_row(str(row.index), f"{row.score:.3f}", row.level, ", ".join(row.detectors), row.explanation)
        console.print(table)
    if incidents:
        table = Table(title="Top incidents")
        for column in ("source", "flows", "max score", "level", "detectors"):
            table.add_column(column)
        for incident in incidents[:10]:
            table.add_row(
                incident.source,
                str(incident.flows),
                f"{incident.max_score:.3f}",
                incident.level,
                ", ".join(incident.detectors),
            )
        console.print(table)
    levels = ", ".join(f"{name}: {count}" for name, count in summary["levels"].items())
    console.print(
        f"Summary: {summary['flows']} flows, {summary['threats']} threats ({levels}); "
        f"{summary['incidents']} incidents; {summary['skipped_records']} malformed records skipped"
    )
