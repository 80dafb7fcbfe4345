"""Rules for scans and floods: port scans and sweeps, SYN floods."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from securenet.netsec.columns import FlowColumns, Groups, IntArray, ObjectArray, per_distinct
from securenet.netsec.rules._base import HALF_OPEN_STATES, Evidence, Rule, RuleHits, fired_rows, require


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
        require(min_ports >= 2, f"min_ports must be >= 2, got {min_ports}")
        require(min_hosts >= 2, f"min_hosts must be >= 2, got {min_hosts}")
        self.min_ports = int(min_ports)
        self.min_hosts = int(min_hosts)
        self.only_half_open = only_half_open

    def evaluate_columns(self, columns: FlowColumns) -> RuleHits:
        n = len(columns)
        (src, sources), (dst, targets) = columns.hosts("orig_h"), columns.hosts("resp_h")
        rows = np.flatnonzero((src >= 0) & (dst >= 0))
        src, dst, win = src[rows], dst[rows], columns.window_keys(self.window_s)[rows]
        windows, n_windows = columns.window_codes(self.window_s)
        windows = windows[rows]
        # Uncounted flows still fire with their group, but add no port or host to its tally.
        port = columns.port_codes()[0][rows]
        if self.only_half_open:
            counted = columns.in_states(HALF_OPEN_STATES, unknown=True)[rows]
            port, host = np.where(counted, port, -1), np.where(counted, dst, -1)
        else:
            host = dst
        by_src, by_dst, by_win = (src, len(sources)), (dst, len(targets)), (windows, n_windows)
        pairs, scanners = Groups.of(by_src, by_dst, by_win), Groups.of(by_src, by_win)
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
        return self._hits(fired_rows(n, rows[vertical[pairs.ids] | sweep[scanners.ids]]), evidence)


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
        require(min_half_open >= 1, f"min_half_open must be >= 1, got {min_half_open}")
        require(0.0 < min_ratio <= 1.0, f"min_ratio must be in (0, 1], got {min_ratio}")
        self.min_half_open = int(min_half_open)
        self.min_ratio = float(min_ratio)

    def evaluate_columns(self, columns: FlowColumns) -> RuleHits:
        n = len(columns)
        dst, targets = columns.hosts("resp_h")
        proto = columns.text("proto")
        # Flows with unknown protocol count as TCP.
        tcp = per_distinct(proto, lambda v: v == "" or str(v).lower() == "tcp", missing=True)
        rows = np.flatnonzero((dst >= 0) & tcp)
        port = columns.numeric("resp_p")[rows]
        # -1 stands for an unknown port so that port-less flows still group by host.
        port = np.where(np.isnan(port), -1.0, port)
        port_codes, n_ports = columns.port_codes()
        windows, n_windows = columns.window_codes(self.window_s)
        dst, win = dst[rows], columns.window_keys(self.window_s)[rows]
        half = columns.in_states(HALF_OPEN_STATES, unknown=False)[rows]
        # Unknown ports (code -1) are a port of their own here: shift codes to start at 0.
        services = Groups.of((dst, len(targets)), (port_codes[rows] + 1, n_ports + 1), (windows[rows], n_windows))
        half_open = services.sums(half)
        flooded = (half_open >= self.min_half_open) & (half_open >= self.min_ratio * services.sizes)
        fired_mask = flooded[services.ids] & half

        evidence: list[Evidence] = []
        for g in services.sorted_by((dst, port, win), flooded):
            first, members = services.first[g], services.members(g)
            half_rows = rows[members[half[members]]]
            count, flows = len(half_rows), int(services.sizes[g])
            sources = self._sources(columns, half_rows)
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
        return self._hits(fired_rows(n, rows[fired_mask]), evidence)

    @staticmethod
    def _sources(columns: FlowColumns, rows: IntArray) -> ObjectArray:
        """Distinct present ``orig_h`` values of ``rows``, in order of first appearance."""
        codes, names = columns.hosts("orig_h")
        picked = codes[rows]
        distinct: ObjectArray = names[pd.unique(picked[picked >= 0])]
        return distinct
