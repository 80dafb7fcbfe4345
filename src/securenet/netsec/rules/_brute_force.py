"""Password guessing: many short or failed connections to one host's login services."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

import numpy as np
import pandas as pd

from securenet.netsec.columns import FloatArray, FlowColumns, Groups, ObjectArray, per_distinct
from securenet.netsec.rules._base import HALF_OPEN_STATES, Evidence, Rule, RuleHits, fired_rows, require

#: Responder ports of services that take passwords: ftp, ssh, telnet, pop3, imap, smtp
#: submission (465/587, not relay port 25, whose mail-server traffic is not logins),
#: imaps, pop3s, rdp.
AUTH_PORTS: frozenset[int] = frozenset({21, 22, 23, 110, 143, 465, 587, 993, 995, 3389})
#: Zeek service names of the same services; ``pop_3``/``imap4`` are NSL-KDD's spellings.
AUTH_SERVICES: frozenset[str] = frozenset({"ftp", "ssh", "telnet", "pop3", "pop_3", "imap", "imap4", "rdp"})


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
        require(min_attempts >= 2, f"min_attempts must be >= 2, got {min_attempts}")
        require(0.0 <= min_failed_ratio <= 1.0, f"min_failed_ratio must be in [0, 1], got {min_failed_ratio}")
        require(max_duration >= 0, f"max_duration must be >= 0, got {max_duration}")
        self.min_attempts = int(min_attempts)
        self.min_failed_ratio = float(min_failed_ratio)
        self.max_duration = float(max_duration)
        self.ports = frozenset(int(p) for p in ports)
        self.services = frozenset(s.lower() for s in services)
        require(bool(self.ports or self.services), "BruteForceRule needs at least one port or service")

    def evaluate_columns(self, columns: FlowColumns) -> RuleHits:
        n = len(columns)
        (src, sources), (dst, targets) = columns.hosts("orig_h"), columns.hosts("resp_h")
        port = columns.numeric("resp_p")
        service = columns.text("service")
        auth = np.isin(port, np.fromiter(self.ports, dtype=np.float64, count=len(self.ports)))
        if self.services:
            names = "|".join(sorted(self.services))
            pattern = re.compile(rf"(?:^|,)\s*(?:{names})\s*(?:,|$)")
            auth = auth | per_distinct(service, lambda v: pattern.search(str(v).lower()) is not None)
        duration = columns.numeric("duration")
        failed = (
            columns.in_states(HALF_OPEN_STATES, unknown=False) | np.isnan(duration) | (duration <= self.max_duration)
        )
        rows = np.flatnonzero((src >= 0) & (dst >= 0) & auth)
        src, dst, win, failed = src[rows], dst[rows], columns.window_keys(self.window_s)[rows], failed[rows]
        windows, n_windows = columns.window_codes(self.window_s)
        pairs = Groups.of((src, len(sources)), (dst, len(targets)), (windows[rows], n_windows))
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
        return self._hits(fired_rows(n, rows[fired[pairs.ids]]), evidence)


def _services_label(services: ObjectArray, ports: FloatArray) -> str:
    """A short name for what a brute-force group attacked: its services, else its ports."""
    named = sorted({str(s) for s in pd.unique(services) if not pd.isna(s) and s != ""})
    if named:
        return "/".join(named)
    numbers = sorted({int(p) for p in np.unique(ports[~np.isnan(ports)])})
    return "/".join(f"port {p}" for p in numbers) or "auth"
