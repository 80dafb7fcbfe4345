"""Detection rules that need no model: port scans and sweeps, SYN floods, brute force, exfiltration.

Each rule is a small class: a ``rule_id``, a default ``severity`` in [0, 1], thresholds
configured once in ``__init__`` and ``evaluate(frame) -> RuleHits`` over a canonical flow
batch (see :mod:`securenet.netsec.flows`). :class:`RuleHits` is aligned row for row with
the batch and carries one :class:`Evidence` record per group of flows that fired.

Rules count over tumbling windows, ``window = floor(ts / window_s)``. Grouping is done
with numpy on integer codes (see :class:`_Groups`) rather than pandas ``groupby``: API
requests judge batches of a few dozen flows, where groupby's fixed cost per call would
dominate. Python loops run only once per *fired* group, to write its evidence. Two
conventions hold for every rule:

* rows without a usable ``ts`` (NaN or infinite) share one window of their own, so a
  batch without timestamps is judged as a single window;
* rows without the addresses a rule keys on (NSL-KDD has none) are never counted and
  never fire; the rule returns all-False rather than raising.

Tumbling windows are cheap and explainable but split a burst that straddles a window
boundary; thresholds are set so that the fast tools these rules target still cross
them within one window.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Final, Self, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "AUTH_PORTS",
    "AUTH_SERVICES",
    "HALF_OPEN_STATES",
    "BruteForceRule",
    "Evidence",
    "ExfiltrationRule",
    "PortScanRule",
    "Rule",
    "RuleHits",
    "RuleSet",
    "RuleSetHits",
    "SynFloodRule",
    "VolumeBaseline",
    "default_rule_set",
]

_V = TypeVar("_V")
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]

#: Zeek conn_state values where the TCP handshake never completed: no answer (S0),
#: rejected (REJ), originator gave up after its SYN (RSTOS0, SH) or only the responder's
#: half was seen (RSTRH, SHR). Floods and scans leave these behind.
HALF_OPEN_STATES: frozenset[str] = frozenset({"S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR"})
#: Responder ports of services that take passwords: ftp, ssh, telnet, pop3, imap, smtp
#: submission (465/587, not relay port 25, whose mail-server traffic is not logins),
#: imaps, pop3s, rdp.
AUTH_PORTS: frozenset[int] = frozenset({21, 22, 23, 110, 143, 465, 587, 993, 995, 3389})
#: Zeek service names of the same services; ``pop_3``/``imap4`` are NSL-KDD's spellings.
AUTH_SERVICES: frozenset[str] = frozenset({"ftp", "ssh", "telnet", "pop3", "pop_3", "imap", "imap4", "rdp"})

# Window key of rows without a usable timestamp. No real epoch second floors to it.
_NO_WINDOW: Final = int(np.iinfo(np.int64).min)


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """Why a rule fired for one group of flows: who, against whom, when, and by how much.

    ``counts`` holds what was measured and ``thresholds`` what it was compared with,
    under the same keys where they correspond. ``rows`` are the positions (not index
    labels) of the batch rows this evidence made fire.
    """

    rule_id: str
    source: str | None
    target: str | None
    window_start: float | None
    window_end: float | None
    counts: Mapping[str, float]
    thresholds: Mapping[str, float]
    summary: str
    rows: tuple[int, ...]


@dataclass(frozen=True)
class RuleHits:
    """One rule's verdict on a batch: per-row ``fired`` and ``score`` plus the evidence."""

    rule_id: str
    fired: BoolArray
    score: FloatArray
    evidence: tuple[Evidence, ...]

    def __len__(self) -> int:
        return len(self.fired)


class Rule(ABC):
    """Base of every rule: a windowed, thresholded check with a fixed severity.

    Subclasses set ``rule_id`` and ``default_severity`` and implement :meth:`evaluate`.
    """

    rule_id: ClassVar[str]
    default_severity: ClassVar[float]

    def __init__(self, *, window_s: float, severity: float | None) -> None:
        severity = self.default_severity if severity is None else float(severity)
        _require(0.0 <= severity <= 1.0, f"severity must be in [0, 1], got {severity}")
        _require(np.isfinite(window_s) and window_s > 0, f"window_s must be > 0, got {window_s}")
        self.severity = severity
        self.window_s = float(window_s)

    @abstractmethod
    def evaluate(self, frame: pd.DataFrame) -> RuleHits:
        """Judge a canonical flow batch; the result is aligned with ``frame``'s rows."""

    def _hits(self, fired: BoolArray, evidence: Iterable[Evidence]) -> RuleHits:
        score: FloatArray = np.where(fired, self.severity, 0.0).astype(np.float64)
        return RuleHits(self.rule_id, fired, score, tuple(evidence))

    def _evidence(
        self,
        *,
        source: str | None,
        target: str | None,
        window: int,
        counts: Mapping[str, float],
        thresholds: Mapping[str, float],
        summary: str,
        rows: IntArray,
    ) -> Evidence:
        start, end = _window_bounds(window, self.window_s)
        return Evidence(
            rule_id=self.rule_id,
            source=source,
            target=target,
            window_start=start,
            window_end=end,
            counts=dict(counts),
            thresholds=dict(thresholds),
            summary=summary,
            rows=tuple(rows.tolist()),
        )

    def _window_phrase(self, window: int) -> str:
        if window == _NO_WINDOW:
            return "in the batch (no timestamps)"
        return f"in {self.window_s:g}s"


class PortScanRule(Rule):
    """One source probing many ports on one host (vertical scan) or many hosts (sweep).

    Fires every flow from the source to the scanned host (vertical) or from the sweeping
    source (sweep) in the window. With ``only_half_open`` only connections whose
    handshake never completed (or whose state is unknown) are counted, which spares busy
    NAT gateways and proxies that legitimately reach many hosts; scans still qualify
    because most probed ports are closed or filtered.
    """

    rule_id: ClassVar[str] = "port_scan"
    default_severity: ClassVar[float] = 0.6

    def __init__(
        self,
        *,
        min_ports: int = 50,
        min_hosts: int = 30,
        window_s: float = 60.0,
        only_half_open: bool = False,
        severity: float | None = None,
    ) -> None:
        """Defaults: >= 50 distinct ports on one host or >= 30 distinct hosts within 60 s."""
        super().__init__(window_s=window_s, severity=severity)
        _require(min_ports >= 2, f"min_ports must be >= 2, got {min_ports}")
        _require(min_hosts >= 2, f"min_hosts must be >= 2, got {min_hosts}")
        self.min_ports = int(min_ports)
        self.min_hosts = int(min_hosts)
        self.only_half_open = only_half_open

    def evaluate(self, frame: pd.DataFrame) -> RuleHits:
        n = len(frame)
        (src, sources), (dst, targets) = _hosts(frame, "orig_h"), _hosts(frame, "resp_h")
        rows = np.flatnonzero((src >= 0) & (dst >= 0))
        src, dst, win = src[rows], dst[rows], _window_keys(frame, self.window_s)[rows]
        windows, n_windows = _window_codes(frame, self.window_s)
        windows = windows[rows]
        # Uncounted flows still fire with their group, but add no port or host to its tally.
        port = _port_codes(frame)[0][rows]
        if self.only_half_open:
            counted = _in_states(frame, HALF_OPEN_STATES, unknown=True)[rows]
            port, host = np.where(counted, port, -1), np.where(counted, dst, -1)
        else:
            host = dst
        by_src, by_dst, by_win = (src, len(sources)), (dst, len(targets)), (windows, n_windows)
        pairs, scanners = _Groups.of(by_src, by_dst, by_win), _Groups.of(by_src, by_win)
        ports, hosts = pairs.distinct(port), scanners.distinct(host)
        vertical, sweep = ports >= self.min_ports, hosts >= self.min_hosts

        evidence: list[Evidence] = []
        for g in pairs.sorted_by((src, dst, win), vertical):
            first, count = pairs.first[g], int(ports[g])
            source, target, window = sources[src[first]], targets[dst[first]], int(win[first])
            evidence.append(
                self._evidence(
                    source=source,
                    target=target,
                    window=window,
                    counts={"ports": count, "flows": int(pairs.sizes[g])},
                    thresholds={"ports": self.min_ports},
                    summary=f"{source} touched {count} ports on {target} "
                    f"{self._window_phrase(window)} (threshold {self.min_ports})",
                    rows=rows[pairs.members(g)],
                )
            )
        for g in scanners.sorted_by((src, win), sweep):
            first, count = scanners.first[g], int(hosts[g])
            source, window = sources[src[first]], int(win[first])
            evidence.append(
                self._evidence(
                    source=source,
                    target=None,
                    window=window,
                    counts={"hosts": count, "flows": int(scanners.sizes[g])},
                    thresholds={"hosts": self.min_hosts},
                    summary=f"{source} touched {count} hosts "
                    f"{self._window_phrase(window)} (threshold {self.min_hosts})",
                    rows=rows[scanners.members(g)],
                )
            )
        return self._hits(_fired_rows(n, rows[vertical[pairs.ids] | sweep[scanners.ids]]), evidence)


class SynFloodRule(Rule):
    """A TCP service (host and port) drowned in half-open or rejected connections.

    A group is one responder host and port per window; it fires when it holds at least
    ``min_half_open`` half-open flows that make up at least ``min_ratio`` of its flows.
    Keying on the port keeps vertical port scans (one probe per port) out of this rule.
    Only the half-open flows fire: completed connections in the same window are the
    service's real clients. UDP and ICMP are skipped because one-way UDP (unanswered DNS,
    syslog) looks like S0 without being an attack; flows with unknown ``proto`` count.
    """

    rule_id: ClassVar[str] = "syn_flood"
    default_severity: ClassVar[float] = 0.8

    def __init__(
        self,
        *,
        min_half_open: int = 200,
        min_ratio: float = 0.8,
        window_s: float = 10.0,
        severity: float | None = None,
    ) -> None:
        """Defaults: >= 200 half-open connections (20/s) forming >= 80% of a service's flows in 10 s."""
        super().__init__(window_s=window_s, severity=severity)
        _require(min_half_open >= 1, f"min_half_open must be >= 1, got {min_half_open}")
        _require(0.0 < min_ratio <= 1.0, f"min_ratio must be in (0, 1], got {min_ratio}")
        self.min_half_open = int(min_half_open)
        self.min_ratio = float(min_ratio)

    def evaluate(self, frame: pd.DataFrame) -> RuleHits:
        n = len(frame)
        dst, targets = _hosts(frame, "resp_h")
        proto = _text(frame, "proto")
        # Flows with unknown protocol count as TCP.
        tcp = _per_distinct(proto, lambda v: v == "" or str(v).lower() == "tcp", missing=True)
        rows = np.flatnonzero((dst >= 0) & tcp)
        port = _numeric(frame, "resp_p")[rows]
        # -1 stands for an unknown port so that port-less flows still group by host.
        port = np.where(np.isnan(port), -1.0, port)
        port_codes, n_ports = _port_codes(frame)
        windows, n_windows = _window_codes(frame, self.window_s)
        dst, win = dst[rows], _window_keys(frame, self.window_s)[rows]
        half = _in_states(frame, HALF_OPEN_STATES, unknown=False)[rows]
        # Unknown ports (code -1) are a port of their own here: shift codes to start at 0.
        services = _Groups.of((dst, len(targets)), (port_codes[rows] + 1, n_ports + 1), (windows[rows], n_windows))
        half_open = services.sums(half)
        flooded = (half_open >= self.min_half_open) & (half_open >= self.min_ratio * services.sizes)
        fired_mask = flooded[services.ids] & half

        evidence: list[Evidence] = []
        for g in services.sorted_by((dst, port, win), flooded):
            first, members = services.first[g], services.members(g)
            half_rows = rows[members[half[members]]]
            count, flows = len(half_rows), int(services.sizes[g])
            sources = self._sources(frame, half_rows)
            target_host, target_port, window = targets[dst[first]], float(port[first]), int(win[first])
            target = target_host if target_port < 0 else f"{target_host}:{int(target_port)}"
            evidence.append(
                self._evidence(
                    source=str(sources[0]) if len(sources) == 1 else None,
                    target=target,
                    window=window,
                    counts={"half_open": count, "flows": flows, "ratio": count / flows, "sources": len(sources)},
                    thresholds={"half_open": self.min_half_open, "ratio": self.min_ratio},
                    summary=f"{target} received {count} half-open connections ({count / flows:.0%} of "
                    f"{flows}) from {len(sources)} sources {self._window_phrase(window)} "
                    f"(threshold {self.min_half_open}, {self.min_ratio:.0%})",
                    rows=half_rows,
                )
            )
        return self._hits(_fired_rows(n, rows[fired_mask]), evidence)

    @staticmethod
    def _sources(frame: pd.DataFrame, rows: IntArray) -> ObjectArray:
        """Distinct present ``orig_h`` values of ``rows``, in order of first appearance."""
        codes, names = _hosts(frame, "orig_h")
        picked = codes[rows]
        distinct: ObjectArray = names[pd.unique(picked[picked >= 0])]
        return distinct


class BruteForceRule(Rule):
    """Password guessing: one source hammering one host's login services.

    Auth flows are those to :data:`AUTH_PORTS` or whose Zeek service (possibly a
    comma-separated list) names one of :data:`AUTH_SERVICES`, so ssh on a non-standard
    port still counts. A (source, target) group fires when it has at least
    ``min_attempts`` auth flows in the window and at least ``min_failed_ratio`` of them
    were short (``duration <= max_duration``, unknown counts as short) or never
    completed the handshake: failed logins end fast, interactive sessions do not.
    """

    rule_id: ClassVar[str] = "brute_force"
    default_severity: ClassVar[float] = 0.7

    def __init__(
        self,
        *,
        min_attempts: int = 20,
        min_failed_ratio: float = 0.8,
        max_duration: float = 30.0,
        window_s: float = 60.0,
        ports: Iterable[int] = AUTH_PORTS,
        services: Iterable[str] = AUTH_SERVICES,
        severity: float | None = None,
    ) -> None:
        """Defaults: >= 20 auth connections in 60 s, >= 80% of them under 30 s or half-open."""
        super().__init__(window_s=window_s, severity=severity)
        _require(min_attempts >= 2, f"min_attempts must be >= 2, got {min_attempts}")
        _require(0.0 <= min_failed_ratio <= 1.0, f"min_failed_ratio must be in [0, 1], got {min_failed_ratio}")
        _require(max_duration >= 0, f"max_duration must be >= 0, got {max_duration}")
        self.min_attempts = int(min_attempts)
        self.min_failed_ratio = float(min_failed_ratio)
        self.max_duration = float(max_duration)
        self.ports = frozenset(int(p) for p in ports)
        self.services = frozenset(s.lower() for s in services)
        _require(bool(self.ports or self.services), "BruteForceRule needs at least one port or service")

    def evaluate(self, frame: pd.DataFrame) -> RuleHits:
        n = len(frame)
        (src, sources), (dst, targets) = _hosts(frame, "orig_h"), _hosts(frame, "resp_h")
        port = _numeric(frame, "resp_p")
        service = _text(frame, "service")
        auth = np.isin(port, np.fromiter(self.ports, dtype=np.float64, count=len(self.ports)))
        if self.services:
            names = "|".join(sorted(self.services))
            pattern = re.compile(rf"(?:^|,)\s*(?:{names})\s*(?:,|$)")
            auth = auth | _per_distinct(service, lambda v: pattern.search(str(v).lower()) is not None)
        duration = _numeric(frame, "duration")
        failed = (
            _in_states(frame, HALF_OPEN_STATES, unknown=False) | np.isnan(duration) | (duration <= self.max_duration)
        )
        rows = np.flatnonzero((src >= 0) & (dst >= 0) & auth)
        src, dst, win, failed = src[rows], dst[rows], _window_keys(frame, self.window_s)[rows], failed[rows]
        windows, n_windows = _window_codes(frame, self.window_s)
        pairs = _Groups.of((src, len(sources)), (dst, len(targets)), (windows[rows], n_windows))
        attempts, failures = pairs.sizes, pairs.sums(failed)
        fired = (attempts >= self.min_attempts) & (failures >= self.min_failed_ratio * attempts)

        evidence: list[Evidence] = []
        for g in pairs.sorted_by((src, dst, win), fired):
            first, group = pairs.first[g], rows[pairs.members(g)]
            count, failed_count = len(group), int(failures[g])
            source, target, window = sources[src[first]], targets[dst[first]], int(win[first])
            evidence.append(
                self._evidence(
                    source=source,
                    target=target,
                    window=window,
                    counts={"attempts": count, "failed": failed_count, "failed_ratio": failed_count / count},
                    thresholds={"attempts": self.min_attempts, "failed_ratio": self.min_failed_ratio},
                    summary=f"{source} made {count} {_services_label(service[group], port[group])} "
                    f"connections to {target} "
                    f"{self._window_phrase(window)}, {failed_count / count:.0%} short or failed "
                    f"(threshold {self.min_attempts}, {self.min_failed_ratio:.0%})",
                    rows=group,
                )
            )
        return self._hits(_fired_rows(n, rows[fired[pairs.ids]]), evidence)


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
        _require(values.size > 0, "a VolumeBaseline needs at least one finite volume")
        median = float(np.median(values))
        return cls(median, float(np.median(np.abs(values - median))), int(values.size), float(window_s))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, window_s: float = 3600.0) -> Self:
        """Volumes of every (orig_h, resp_h, window) group in ``frame``."""
        return cls.from_volumes(_Uploads.of(frame, window_s).sent, window_s=window_s)

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
        _require(min_bytes >= 0, f"min_bytes must be >= 0, got {min_bytes}")
        _require(k >= 0, f"k must be >= 0, got {k}")
        _require(min_ratio >= 1, f"min_ratio must be >= 1, got {min_ratio}")
        _require(ratio_min_bytes >= 0, f"ratio_min_bytes must be >= 0, got {ratio_min_bytes}")
        _require(min_baseline_groups >= 1, f"min_baseline_groups must be >= 1, got {min_baseline_groups}")
        if baseline is not None:
            _require(
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

    def evaluate(self, frame: pd.DataFrame) -> RuleHits:
        n = len(frame)
        uploads = _Uploads.of(frame, self.window_s)
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
        return self._hits(_fired_rows(n, rows[fired[pairs.ids]]), evidence)


@dataclass(frozen=True)
class RuleSetHits:
    """Combined verdict of a :class:`RuleSet`.

    ``fired`` is a (rows x rules) boolean matrix whose columns follow ``rule_ids``;
    ``score`` is each row's highest score over the rules that fired (0 when none did).
    """

    rule_ids: tuple[str, ...]
    fired: BoolArray
    score: FloatArray
    evidence: tuple[Evidence, ...]

    @property
    def any_fired(self) -> BoolArray:
        return np.asarray(self.fired.any(axis=1), dtype=np.bool_)

    def rules_for(self, row: int) -> list[str]:
        """Ids of the rules that fired for one row (by position)."""
        return [rule_id for rule_id, hit in zip(self.rule_ids, self.fired[row], strict=True) if hit]

    def to_frame(self) -> pd.DataFrame:
        """One boolean column per rule id plus ``score``, on a positional index."""
        columns: dict[str, Any] = {rule_id: self.fired[:, i] for i, rule_id in enumerate(self.rule_ids)}
        columns["score"] = self.score
        return pd.DataFrame(columns, index=pd.RangeIndex(len(self.score)))


class RuleSet:
    """Runs a fixed list of rules over a batch and combines their verdicts."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        ids = [rule.rule_id for rule in rules]
        duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        _require(not duplicates, f"rule ids must be unique, duplicated: {duplicates}")
        self.rules: tuple[Rule, ...] = tuple(rules)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule.rule_id for rule in self.rules)

    def evaluate(self, frame: pd.DataFrame) -> RuleSetHits:
        n = len(frame)
        token = _SHARED.set((frame, {}))
        try:
            results = [rule.evaluate(frame) for rule in self.rules]
        finally:
            _SHARED.reset(token)
        fired = np.zeros((n, len(results)), dtype=bool)
        scores = np.zeros((n, len(results)), dtype=np.float64)
        for i, hits in enumerate(results):
            fired[:, i] = hits.fired
            scores[:, i] = hits.score
        score: FloatArray = scores.max(axis=1, initial=0.0)
        evidence = tuple(item for hits in results for item in hits.evidence)
        return RuleSetHits(self.rule_ids, fired, score, evidence)


def default_rule_set() -> RuleSet:
    """Every rule with its documented defaults."""
    return RuleSet([PortScanRule(), SynFloodRule(), BruteForceRule(), ExfiltrationRule()])


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


#: While a RuleSet evaluates a batch: that batch and the columns derived from it so far,
#: so that rules sharing a column (hosts, timestamps, windows) derive it once.
_SHARED: ContextVar[tuple[pd.DataFrame, dict[tuple[Any, ...], Any]] | None] = ContextVar("_SHARED", default=None)


def _shared(frame: pd.DataFrame, key: tuple[Any, ...], derive: Callable[[], _V]) -> _V:
    """``derive()``, computed once per batch while a RuleSet evaluates ``frame``."""
    shared = _SHARED.get()
    if shared is None or shared[0] is not frame:
        return derive()
    cache = shared[1]
    if key not in cache:
        value = derive()
        for array in value if isinstance(value, tuple) else (value,):
            if isinstance(array, np.ndarray):
                array.flags.writeable = False  # shared between rules: nobody may edit it
        cache[key] = value
    result: _V = cache[key]
    return result


def _numeric(frame: pd.DataFrame, column: str) -> FloatArray:
    """A numeric column as float64 with NaN for missing; all-NaN when the column is absent."""

    def derive() -> FloatArray:
        if column not in frame:
            return np.full(len(frame), np.nan)
        series = frame[column]
        values: FloatArray
        if series.dtype == np.float64:  # canonical batches: skip to_numeric's fixed cost
            values = series.to_numpy(dtype=np.float64, copy=True)
        else:
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return values

    return _shared(frame, ("numeric", column), derive)


def _text(frame: pd.DataFrame, column: str) -> ObjectArray:
    """A text column as an object array; all-None when absent."""

    def derive() -> ObjectArray:
        if column not in frame:
            return np.full(len(frame), None, dtype=object)
        values: ObjectArray = frame[column].to_numpy(dtype=object, copy=True)
        return values

    return _shared(frame, ("text", column), derive)


def _hosts(frame: pd.DataFrame, column: str) -> tuple[IntArray, ObjectArray]:
    """An address column as integer codes (-1 for missing) and the addresses they stand for.

    Rules group by addresses; codes of sorted addresses (so groups come out in the same
    order as with plain strings) let every rule reuse one factorization instead of
    hashing the strings again.
    """

    def derive() -> tuple[IntArray, ObjectArray]:
        values = _text(frame, column)
        try:
            codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
        except TypeError:  # values that do not sort together: let Categorical sort them out
            text = pd.Series(values, dtype=object)
            categorical = pd.Categorical(text.where(_present(text), None))
            return categorical.codes.astype(np.int64), categorical.categories.to_numpy(dtype=object)
        names = np.asarray(uniques, dtype=object)
        present = names != ""  # "" is missing too (see _present)
        if not present.all():
            recode = np.append(np.where(present, np.cumsum(present) - 1, -1), -1)  # code -1 stays -1
            codes, names = recode[codes], names[present]
        return codes.astype(np.int64, copy=False), names

    codes, names = _shared(frame, ("hosts", column), derive)
    return codes, names


def _per_distinct(values: ObjectArray, test: Callable[[Any], bool], *, missing: bool = False) -> BoolArray:
    """``test`` run once per distinct present value, spread back to the rows.

    Flow text columns repeat a few values, so this spares a string operation per row (and,
    in plain Python over the distinct values, the fixed cost of pandas string methods).
    Missing values (None, NaN, NA) get ``missing``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    # Code -1 (missing) picks the trailing answer.
    answers = np.array([bool(test(value)) for value in uniques] + [missing], dtype=bool)
    result: BoolArray = answers[codes]
    return result


def _present(values: pd.Series) -> BoolArray:
    # Empty strings count as missing: some exports write "" where Zeek writes "-".
    present: BoolArray = (values.notna() & (values != "")).to_numpy(dtype=bool)
    return present


def _in_states(frame: pd.DataFrame, states: frozenset[str], *, unknown: bool) -> BoolArray:
    """Whether each row's conn_state is in ``states``; rows without a state get ``unknown``."""

    def derive() -> BoolArray:
        # "" is a missing state too (see _present).
        return _per_distinct(
            _text(frame, "conn_state"), lambda v: v in states or (unknown and v == ""), missing=unknown
        )

    return _shared(frame, ("in_states", states, unknown), derive)


def _window_keys(frame: pd.DataFrame, window_s: float) -> IntArray:
    def derive() -> IntArray:
        ts = _numeric(frame, "ts")
        finite = np.isfinite(ts)
        keys = np.full(len(ts), _NO_WINDOW, dtype=np.int64)
        keys[finite] = np.floor(ts[finite] / window_s).astype(np.int64)
        return keys

    return _shared(frame, ("window", window_s), derive)


def _window_codes(frame: pd.DataFrame, window_s: float) -> tuple[IntArray, int]:
    """Window keys as dense codes in ``[0, width)``, and the width."""

    def derive() -> tuple[IntArray, int]:
        codes = _codes(_window_keys(frame, window_s))
        return codes, int(codes.max(initial=-1)) + 1

    return _shared(frame, ("window codes", window_s), derive)


def _port_codes(frame: pd.DataFrame) -> tuple[IntArray, int]:
    """Responder ports as dense codes (-1 for unknown) and the number of distinct ports."""

    def derive() -> tuple[IntArray, int]:
        codes = _codes(_numeric(frame, "resp_p"))
        return codes, int(codes.max(initial=-1)) + 1

    return _shared(frame, ("port codes",), derive)


def _window_bounds(window: int, window_s: float) -> tuple[float | None, float | None]:
    if window == _NO_WINDOW:
        return None, None
    return float(window * window_s), float((window + 1) * window_s)


def _fired_rows(n: int, positions: IntArray) -> BoolArray:
    fired = np.zeros(n, dtype=bool)
    fired[positions] = True
    return fired


def _codes(values: npt.NDArray[Any]) -> IntArray:
    """Dense integer codes of ``values`` in order of first appearance; NaN gets -1."""
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    result: IntArray = codes.astype(np.int64, copy=False)
    return result


class _Groups:
    """Rows split into groups by integer key columns, with numpy instead of pandas groupby.

    ``ids[i]`` is row ``i``'s group, numbered in order of first appearance. Counting is
    ``np.bincount`` over ``ids``, so a small batch costs microseconds rather than the
    milliseconds of a groupby, and a large one stays linear.
    """

    def __init__(self, ids: IntArray, count: int) -> None:
        self.ids = ids
        self.count = count

    @classmethod
    def of(cls, *keys: tuple[IntArray, int]) -> Self:
        """Group rows by the tuple of their keys, each given as codes in ``[0, width)`` per row.

        The codes are packed into one int64 per row (mixed radix) and factorized once.
        """
        combined, span = np.zeros(len(keys[0][0]), dtype=np.int64), 1
        for codes, width in keys:
            if span * max(width, 1) >= 2**62:  # would overflow: renumber densely first
                combined = _codes(combined)
                span = int(combined.max(initial=-1)) + 1
            combined, span = combined * width + codes, span * max(width, 1)
        ids = _codes(combined)
        return cls(ids, int(ids.max(initial=-1)) + 1)

    @cached_property
    def sizes(self) -> FloatArray:
        """Rows per group, as floats to compare with fractional thresholds."""
        sizes: FloatArray = np.bincount(self.ids, minlength=self.count).astype(np.float64)
        return sizes

    @cached_property
    def first(self) -> IntArray:
        """Each group's first row (groups are numbered in order of first appearance)."""
        # A new group's id is one above every id before it: its first row sets a new maximum.
        running = np.maximum.accumulate(self.ids) if len(self.ids) else self.ids
        opens: IntArray = np.flatnonzero(np.diff(running, prepend=-1) > 0).astype(np.int64, copy=False)
        return opens

    def sums(self, values: npt.NDArray[Any]) -> FloatArray:
        """Per-group sums of ``values`` (booleans or floats without NaN).

        ``np.bincount`` adds in row order, pandas' groupby with Kahan compensation; they agree
        exactly when every value and partial sum is an integer below 2**53, as with counts
        and byte counts. Anything else goes through pandas so that verdicts never change.
        """
        weights = np.asarray(values, dtype=np.float64)
        exact = bool(np.all(weights == np.round(weights))) and float(np.abs(weights).sum()) < 2.0**53
        if exact:
            return np.bincount(self.ids, weights=weights, minlength=self.count).astype(np.float64, copy=False)
        by_group: FloatArray = pd.Series(weights).groupby(self.ids, sort=True).sum().to_numpy(dtype=np.float64)
        return by_group

    def distinct(self, values: IntArray) -> IntArray:
        """Per-group number of distinct ``values`` (dense codes; -1 is not counted)."""
        counted = values >= 0
        width = int(values.max(initial=-1)) + 1
        pairs = pd.unique(self.ids[counted] * width + values[counted])
        distinct: IntArray = np.bincount(pairs // max(width, 1), minlength=self.count).astype(np.int64)
        return distinct

    def sorted_by(self, keys: tuple[npt.NDArray[Any], ...], selected: BoolArray) -> list[int]:
        """The ``selected`` groups, ordered by their key values as a sorted groupby would."""
        groups = np.flatnonzero(selected)
        first = self.first[groups]
        order = np.lexsort(tuple(key[first] for key in reversed(keys)))
        ordered: list[int] = groups[order].tolist()
        return ordered

    @cached_property
    def _by_group(self) -> tuple[IntArray, IntArray]:
        """Row positions sorted by group (stable, so rows stay in order) and group offsets."""
        order = np.argsort(self.ids, kind="stable")
        offsets = np.zeros(self.count + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.ids, minlength=self.count), out=offsets[1:])
        return order.astype(np.int64, copy=False), offsets

    def members(self, group: int) -> IntArray:
        """Positions (into the grouped rows) of one group's rows, ascending."""
        order, offsets = self._by_group
        return order[offsets[group] : offsets[group + 1]]


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
    groups: _Groups

    @classmethod
    def of(cls, frame: pd.DataFrame, window_s: float) -> _Uploads:
        (src, sources), (dst, targets) = _hosts(frame, "orig_h"), _hosts(frame, "resp_h")
        rows = np.flatnonzero((src >= 0) & (dst >= 0))
        src, dst, win = src[rows], dst[rows], _window_keys(frame, window_s)[rows]
        # Unknown byte counts add nothing rather than poisoning the sums.
        orig = np.nan_to_num(_numeric(frame, "orig_bytes")[rows], nan=0.0)
        resp = np.nan_to_num(_numeric(frame, "resp_bytes")[rows], nan=0.0)
        windows, n_windows = _window_codes(frame, window_s)
        groups = _Groups.of((src, len(sources)), (dst, len(targets)), (windows[rows], n_windows))
        return cls(rows, src, dst, win, sources, targets, orig, resp, groups)

    @cached_property
    def sent(self) -> FloatArray:
        """Upload volume of each group, groups in order of first appearance."""
        return self.groups.sums(self.orig)

    @cached_property
    def received(self) -> FloatArray:
        return self.groups.sums(self.resp)


def _services_label(services: ObjectArray, ports: FloatArray) -> str:
    """A short name for what a brute-force group attacked: its services, else its ports."""
    named = sorted({str(s) for s in pd.unique(services) if not pd.isna(s) and s != ""})
    if named:
        return "/".join(named)
    numbers = sorted({int(p) for p in np.unique(ports[~np.isnan(ports)])})
    return "/".join(f"port {p}" for p in numbers) or "auth"


def _format_bytes(value: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
