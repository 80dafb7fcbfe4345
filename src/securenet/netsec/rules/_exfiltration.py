"""Exfiltration: upload volumes far above a robust baseline, or a large one-way push."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from securenet.netsec.columns import FloatArray, FlowColumns, Groups, IntArray, ObjectArray
from securenet.netsec.rules._base import Evidence, Rule, RuleHits, fired_rows, require


@dataclass(frozen=True)
class VolumeBaseline:
    """Robust centre and spread of per-(source, destination, window) upload volumes.

    Learn it from known-good traffic with :meth:`from_frame` and hand it to
    :class:`ExfiltrationRule` when single batches are too small or too homogeneous to be
    their own reference. ``window_s`` must match the rule's window, since volumes scale
    with it.
    """

    median: float
    mad: float
    groups: int
    window_s: float

    @classmethod
    def from_volumes(cls, volumes: npt.ArrayLike, *, window_s: float) -> Self:
        values = np.asarray(volumes, dtype=np.float64)
        values = values[np.isfinite(values)]
        require(values.size > 0, "a VolumeBaseline needs at least one finite volume")
        median = float(np.median(values))
        return cls(median, float(np.median(np.abs(values - median))), int(values.size), float(window_s))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, window_s: float = 3600.0) -> Self:
        """Volumes of every (orig_h, resp_h, window) group in ``frame``."""
        return cls.from_volumes(_Uploads.of(FlowColumns(frame), window_s).sent, window_s=window_s)

    def threshold(self, k: float) -> float:
        return self.median + k * self.mad


class ExfiltrationRule(Rule):
    """Outbound volume outliers: a source sending far more to one destination than usual.

    Per (source, destination, window) the rule sums ``orig_bytes`` and ``resp_bytes``.
    A group fires when either

    * its upload is at least ``min_bytes`` *and* above ``median + k * MAD`` of all group
      uploads (the batch's own distribution, or ``baseline`` when given). The absolute
      floor keeps small-volume batches quiet; the relative bar keeps bulk-transfer
      networks (backups, replication) quiet. A batch with fewer than
      ``min_baseline_groups`` groups is no reference, so only the floor applies then;
    * or it uploads at least ``ratio_min_bytes`` while receiving ``min_ratio`` times
      less: a large one-way push, where downloads and request/response traffic are
      dominated by ``resp_bytes``.

    MAD is raw (unscaled), in bytes: for heavy-tailed traffic the floor usually binds,
    and ``k`` matters where typical volumes are themselves large.
    """

    rule_id: ClassVar[str] = "exfiltration"
    default_severity: ClassVar[float] = 0.9

    def __init__(
        self,
        *,
        min_bytes: float = 50e6,
        k: float = 10.0,
        min_ratio: float = 50.0,
        ratio_min_bytes: float = 20e6,
        min_baseline_groups: int = 10,
        window_s: float = 3600.0,
        baseline: VolumeBaseline | None = None,
        severity: float | None = None,
    ) -> None:
        """Defaults: >= 50 MB and > median + 10 MAD in an hour, or >= 20 MB at a 50:1 upload ratio."""
        super().__init__(window_s=window_s, severity=severity)
        require(min_bytes >= 0, f"min_bytes must be >= 0, got {min_bytes}")
        require(k >= 0, f"k must be >= 0, got {k}")
        require(min_ratio >= 1, f"min_ratio must be >= 1, got {min_ratio}")
        require(ratio_min_bytes >= 0, f"ratio_min_bytes must be >= 0, got {ratio_min_bytes}")
        require(min_baseline_groups >= 1, f"min_baseline_groups must be >= 1, got {min_baseline_groups}")
        if baseline is not None:
            require(
                baseline.window_s == self.window_s,
                f"baseline was learned over {baseline.window_s:g}s windows, the rule uses {self.window_s:g}s",
            )
        self.min_bytes = float(min_bytes)
        self.k = float(k)
        self.min_ratio = float(min_ratio)
        self.ratio_min_bytes = float(ratio_min_bytes)
        self.min_baseline_groups = int(min_baseline_groups)
        self.baseline = baseline

    def relative_threshold(self, group_volumes: FloatArray) -> float:
        """The ``median + k * MAD`` bar for this batch; 0 when there is no usable reference."""
        if self.baseline is not None:
            return self.baseline.threshold(self.k)
        if group_volumes.size < self.min_baseline_groups:
            return 0.0
        return VolumeBaseline.from_volumes(group_volumes, window_s=self.window_s).threshold(self.k)

    def evaluate_columns(self, columns: FlowColumns) -> RuleHits:
        n = len(columns)
        uploads = _Uploads.of(columns, self.window_s)
        relative = self.relative_threshold(uploads.sent)
        sent, received = uploads.sent, uploads.received
        by_volume = (sent >= self.min_bytes) & (sent > relative)
        by_ratio = (sent >= self.ratio_min_bytes) & (sent >= self.min_ratio * np.maximum(received, 1.0))
        fired = by_volume | by_ratio

        evidence: list[Evidence] = []
        bar = max(self.min_bytes, relative)
        src, dst, win, rows, pairs = uploads.src, uploads.dst, uploads.win, uploads.rows, uploads.groups
        for g in pairs.sorted_by((src, dst, win), fired):
            first, members = pairs.first[g], pairs.members(g)
            # The group's own numpy sum, as reported before; the bincount in ``sent`` only decides.
            up, down = float(uploads.orig[members].sum()), float(uploads.resp[members].sum())
            ratio = up / max(down, 1.0)
            source, target, window = uploads.sources[src[first]], uploads.targets[dst[first]], int(win[first])
            reasons = []
            if up >= self.min_bytes and up > relative:
                reasons.append(f"threshold {_format_bytes(bar)}")
            if up >= self.ratio_min_bytes and ratio >= self.min_ratio:
                reasons.append(f"upload ratio {ratio:.0f}:1, threshold {self.min_ratio:g}:1")
            evidence.append(
                self._evidence(
                    source=source,
                    target=target,
                    window=window,
                    counts={"orig_bytes": up, "resp_bytes": down, "ratio": ratio, "flows": len(members)},
                    thresholds={
                        "orig_bytes": bar,
                        "min_bytes": self.min_bytes,
                        "relative_bytes": relative,
                        "ratio": self.min_ratio,
                        "ratio_min_bytes": self.ratio_min_bytes,
                    },
                    summary=f"{source} sent {_format_bytes(up)} to {target} "
                    f"{self._window_phrase(window)} ({'; '.join(reasons)})",
                    rows=rows[members],
                )
            )
        return self._hits(fired_rows(n, rows[fired[pairs.ids]]), evidence)


@dataclass(frozen=True)
class _Uploads:
    """Per-(source, destination, window) byte sums of the flows that have both addresses."""

    rows: IntArray
    src: IntArray
    dst: IntArray
    win: IntArray
    sources: ObjectArray
    targets: ObjectArray
    orig: FloatArray
    resp: FloatArray
    groups: Groups

    @classmethod
    def of(cls, columns: FlowColumns, window_s: float) -> _Uploads:
        (src, sources), (dst, targets) = columns.hosts("orig_h"), columns.hosts("resp_h")
        rows = np.flatnonzero((src >= 0) & (dst >= 0))
        src, dst, win = src[rows], dst[rows], columns.window_keys(window_s)[rows]
        # Unknown byte counts add nothing rather than poisoning the sums.
        orig = np.nan_to_num(columns.numeric("orig_bytes")[rows], nan=0.0)
        resp = np.nan_to_num(columns.numeric("resp_bytes")[rows], nan=0.0)
        windows, n_windows = columns.window_codes(window_s)
        groups = Groups.of((src, len(sources)), (dst, len(targets)), (windows[rows], n_windows))
        return cls(rows, src, dst, win, sources, targets, orig, resp, groups)

    @cached_property
    def sent(self) -> FloatArray:
        """Upload volume of each group, groups in order of first appearance."""
        return self.groups.sums(self.orig)

    @cached_property
    def received(self) -> FloatArray:
        return self.groups.sums(self.resp)


def _format_bytes(value: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
