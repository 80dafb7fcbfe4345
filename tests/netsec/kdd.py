"""Synthetic NSL-KDD records, so the tests need nothing beside the repository.

``kdd_lines(n, seed=...)`` gives ``n`` records in the NSL-KDD file format (41 features, label,
difficulty; comma-separated, no header), a seeded random mix of normal traffic and attacks
(about 47% attacks, as in the NSL-KDD training file). ``write_kdd`` writes them, gzipped when
the name ends in ``.gz``.

The shapes follow the published training file, per service and per attack family: normal
HTTP, DNS, SMTP, FTP and friends with plausible byte counts and traffic statistics, including
its unremarkable oddities (refused and half-open connections, long sessions, bulk transfers);
and DoS, probe and R2L attacks with their characteristic fields (neptune's half-open floods,
smurf's 1032/520-byte echo replies, sweeps' rejected connections to many services or hosts,
back's 54540-byte requests, teardrop's wrong fragments, guessed passwords). Some attacks look
much like normal traffic (warez downloads over ftp_data, quiet sweeps), so the detectors are
tested on overlapping data, not on a trivially separable set.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from securenet.netsec.readers import NSL_KDD_FEATURES

Record = dict[str, float | int | str]
Rng = np.random.Generator

_CATEGORICAL = ("protocol_type", "service", "flag")
_NUMERIC = tuple(f for f in NSL_KDD_FEATURES if f not in _CATEGORICAL)
#: Share of attacks among the records (13449 normal of 25192 in the NSL-KDD 20% training file).
ATTACK_SHARE = 0.47


# --------------------------------------------------------------------------------------------
# Sampling helpers


def _pick(rng: Rng, weights: dict[str, float]) -> str:
    """A name drawn with probability proportional to its weight."""
    point = rng.random() * sum(weights.values())
    for name, weight in weights.items():
        point -= weight
        if point < 0:
            return name
    return name


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _lognormal(rng: Rng, median: float, sigma: float, low: int = 0, high: int = 10**9) -> int:
    return int(_clip(round(median * np.exp(sigma * rng.standard_normal())), low, high))


def _uniform(rng: Rng, low: int, high: int) -> int:
    """An integer in [low, high]."""
    return int(rng.integers(low, high + 1))


def _rate(value: float) -> float:
    return round(_clip(float(value), 0.0, 1.0), 2)


def _small_rate(rng: Rng, scale: float) -> float:
    """A rate that is usually near zero."""
    return _rate(rng.exponential(scale))


def _record(protocol_type: str, service: str, flag: str, **values: float | int) -> Record:
    record: Record = dict.fromkeys(_NUMERIC, 0)
    record.update(protocol_type=protocol_type, service=service, flag=flag)
    record.update(values)
    return record


# --------------------------------------------------------------------------------------------
# Normal traffic


@dataclass(frozen=True)
class _Service:
    """Normal traffic of one service: its share, sizes (median, lognormal sigma) and habits."""

    protocol: str
    share: float
    src_bytes: tuple[float, float]
    dst_bytes: tuple[float, float]
    dst_bytes_zero: float = 0.0  # share of connections that get no reply bytes
    count: tuple[float, float] = (3.0, 1.0)  # connections to the same host in the past 2 s
    logged_in: float = 0.0
    long: tuple[float, float] = (0.0, 0.0)  # (share, median seconds) of long connections
    failed: float = 0.0  # share of refused or half-open connections (TCP only)
    host_srv_count: float = 100.0  # median dst_host_srv_count
    same_src_port: float = 0.05  # scale of dst_host_same_src_port_rate


_SERVICES: dict[str, _Service] = {
    "http": _Service(
        "tcp", 0.56, (240, 0.3), (1500, 1.3), 0.02, count=(6, 1.0), logged_in=1.0, failed=0.08, host_srv_count=255
    ),
    "domain_u": _Service("udp", 0.135, (44, 0.05), (80, 0.4), 0.25, count=(100, 1.2), host_srv_count=240),
    "smtp": _Service("tcp", 0.10, (1250, 0.6), (330, 0.15), count=(1, 0.5), logged_in=1.0, long=(0.3, 4), failed=0.03),
    "ftp_data": _Service(
        "tcp",
        0.075,
        (750, 2.2),
        (0, 0.0),
        count=(2, 1.0),
        logged_in=0.6,
        long=(0.05, 2),
        host_srv_count=55,
        same_src_port=0.3,
    ),
    "other": _Service("udp", 0.035, (146, 0.01), (105, 0.0), 0.45, long=(0.5, 2000), host_srv_count=2, same_src_port=1),
    "private": _Service("udp", 0.015, (105, 0.0), (146, 0.01), 0.2, count=(2, 0.8), host_srv_count=180),
    "telnet": _Service(
        "tcp",
        0.015,
        (170, 1.4),
        (5500, 1.5),
        0.05,
        count=(1, 0.3),
        logged_in=0.9,
        long=(0.8, 100),
        failed=0.15,
        host_srv_count=8,
    ),
    "ftp": _Service("tcp", 0.013, (600, 0.8), (2500, 0.6), count=(1, 0.3), logged_in=1.0, long=(1.0, 27), failed=0.02),
    "finger": _Service("tcp", 0.009, (8, 0.3), (300, 0.5), count=(2, 0.8), logged_in=1.0, host_srv_count=20),
    "urp_i": _Service("icmp", 0.009, (120, 0.35), (0, 0.0), count=(5, 1.0), host_srv_count=17),
    "eco_i": _Service("icmp", 0.007, (30, 0.0), (0, 0.0), count=(1, 0.8), host_srv_count=80, same_src_port=1),
    "ecr_i": _Service("icmp", 0.004, (45, 0.4), (0, 0.0), count=(1, 0.5), host_srv_count=60, same_src_port=1),
    "ntp_u": _Service("udp", 0.004, (48, 0.0), (48, 0.0), count=(1, 0.6), host_srv_count=30, same_src_port=0.5),
    # A long tail of rarely used services, as in real traffic.
    "auth": _Service("tcp", 0.003, (10, 0.3), (30, 0.3), count=(1, 0.5), failed=0.3, host_srv_count=5),
    "IRC": _Service("tcp", 0.003, (400, 1.0), (2000, 1.0), count=(1, 0.3), logged_in=1.0, long=(1.0, 3000)),
    "pop_3": _Service("tcp", 0.0025, (30, 0.5), (1000, 1.0), count=(1, 0.5), logged_in=1.0, host_srv_count=10),
    "X11": _Service("tcp", 0.001, (5000, 1.5), (100000, 1.5), count=(1, 0.3), logged_in=1.0, long=(1.0, 500)),
    "domain": _Service("tcp", 0.001, (40, 0.3), (100, 0.5), count=(2, 0.5), failed=0.2, host_srv_count=10),
}


def _normal(rng: Rng) -> Record:
    name = _pick(rng, {n: s.share for n, s in _SERVICES.items()})
    svc = _SERVICES[name]
    duration = _lognormal(rng, svc.long[1], 1.2) if rng.random() < svc.long[0] else 0
    count = _lognormal(rng, svc.count[0], svc.count[1], 1, 511)
    srv_count = int(_clip(round(count * rng.uniform(0.8, 1.6)), 1, 511))
    host_count = 255 if rng.random() < 0.45 else _uniform(rng, 1, 255)
    host_srv_count = _lognormal(rng, svc.host_srv_count, 0.6, 1, 255)
    host_same_srv = _rate(host_srv_count / host_count * rng.uniform(0.8, 1.0))
    same_srv = 1.0 if rng.random() < 0.9 else _rate(rng.uniform(0.3, 1.0))
    record = _record(
        svc.protocol,
        name,
        "SF",
        duration=duration,
        src_bytes=_lognormal(rng, *svc.src_bytes),
        dst_bytes=0 if rng.random() < svc.dst_bytes_zero else _lognormal(rng, *svc.dst_bytes),
        logged_in=int(rng.random() < svc.logged_in),
        count=count,
        srv_count=srv_count,
        serror_rate=0.0 if rng.random() < 0.98 else _rate(rng.uniform(0, 0.5)),
        rerror_rate=0.0 if rng.random() < 0.96 else _rate(rng.uniform(0, 1)),
        same_srv_rate=same_srv,
        diff_srv_rate=_rate((1 - same_srv) * rng.uniform(0, 0.5)),
        srv_diff_host_rate=0.0 if rng.random() < 0.75 else _rate(rng.uniform(0, 0.7)),
        dst_host_count=host_count,
        dst_host_srv_count=host_srv_count,
        dst_host_same_srv_rate=host_same_srv,
        dst_host_diff_srv_rate=_rate((1 - host_same_srv) * rng.uniform(0, 0.3)),
        dst_host_same_src_port_rate=_small_rate(rng, svc.same_src_port),
        dst_host_srv_diff_host_rate=_small_rate(rng, 0.03),
        dst_host_serror_rate=_small_rate(rng, 0.01),
        dst_host_rerror_rate=_small_rate(rng, 0.02),
    )
    record["srv_serror_rate"] = record["serror_rate"]
    record["srv_rerror_rate"] = record["rerror_rate"]
    record["dst_host_srv_serror_rate"] = record["dst_host_serror_rate"]
    record["dst_host_srv_rerror_rate"] = record["dst_host_rerror_rate"]
    if svc.protocol == "tcp" and rng.random() < svc.failed:
        _fail(rng, record)
    elif name in ("ftp", "ftp_data", "telnet") and rng.random() < 0.1:
        _session_activity(rng, record)
    return record


def _fail(rng: Rng, record: Record) -> None:
    """Turn a normal TCP connection into a refused (REJ), half-open (S0) or reset one, as users' do."""
    flag = _pick(rng, {"REJ": 0.75, "S0": 0.1, "S1": 0.08, "RSTO": 0.07})
    record["flag"] = flag
    if flag in ("REJ", "S0"):
        record.update(src_bytes=0, dst_bytes=0, logged_in=0, duration=0, count=_uniform(rng, 1, 11))
    if flag == "REJ":
        rerror = _rate(rng.uniform(0.6, 1.0))
        record.update(rerror_rate=rerror, srv_rerror_rate=rerror)
        record.update(
            dst_host_rerror_rate=_rate(rng.uniform(0.2, 1.0)), dst_host_srv_rerror_rate=_rate(rng.uniform(0.5, 1.0))
        )
    elif flag == "S0":
        serror = _rate(1 / max(int(record["count"]), 2))
        record.update(serror_rate=serror, srv_serror_rate=serror, dst_host_serror_rate=_small_rate(rng, 0.1))


def _session_activity(rng: Rng, record: Record) -> None:
    """Interactive sessions touch files, sometimes as a guest or as root."""
    record.update(hot=_uniform(rng, 1, 30), num_file_creations=int(rng.random() < 0.2))
    if rng.random() < 0.3:
        record.update(is_guest_login=1)
    if rng.random() < 0.2:
        record.update(
            num_compromised=_uniform(rng, 1, 3), num_root=_uniform(rng, 1, 5), root_shell=int(rng.random() < 0.3)
        )


# --------------------------------------------------------------------------------------------
# Attacks


def _neptune(rng: Rng) -> Record:
    """SYN flood: half-open (S0) or refused connections to many services of one host."""
    flag = _pick(rng, {"S0": 0.83, "REJ": 0.14, "RSTO": 0.03})
    targets = ("telnet", "ftp_data", "http", "finger", "other", "Z39_50", "uucp", "courier", "bgp", "imap4", "login")
    service = _pick(rng, {"private": 0.4} | dict.fromkeys(targets, 0.05))
    count = _uniform(rng, 5, 60) if rng.random() < 0.1 else _lognormal(rng, 180, 0.35, 1, 511)
    srv_count = _uniform(rng, 1, 30)
    serror = _rate(rng.uniform(0.9, 1.0)) if flag == "S0" else 0.0
    rerror = 0.0 if flag == "S0" else _rate(rng.uniform(0.9, 1.0))
    host_srv_count = _uniform(rng, 1, 25)
    return _record(
        "tcp",
        service,
        flag,
        count=count,
        srv_count=srv_count,
        serror_rate=serror,
        srv_serror_rate=serror,
        rerror_rate=rerror,
        srv_rerror_rate=rerror,
        same_srv_rate=_rate(srv_count / count),
        diff_srv_rate=_rate(rng.uniform(0.04, 0.09)),
        dst_host_count=255 if rng.random() < 0.9 else _uniform(rng, 100, 255),
        dst_host_srv_count=host_srv_count,
        dst_host_same_srv_rate=_rate(host_srv_count / 255 + rng.uniform(0, 0.02)),
        dst_host_diff_srv_rate=_rate(rng.uniform(0.05, 0.09)),
        dst_host_serror_rate=serror,
        dst_host_srv_serror_rate=serror,
        dst_host_rerror_rate=rerror,
        dst_host_srv_rerror_rate=rerror,
    )


def _smurf(rng: Rng) -> Record:
    """ICMP echo-reply flood: 1032- or 520-byte replies, hundreds a second."""
    count = 511 if rng.random() < 0.5 else _uniform(rng, 100, 511)
    host_srv_count = _uniform(rng, 29, 255)
    same = _rate(host_srv_count / 255)
    return _record(
        "icmp",
        "ecr_i",
        "SF",
        src_bytes=1032 if rng.random() < 0.6 else 520,
        count=count,
        srv_count=count,
        same_srv_rate=1.0,
        dst_host_count=255 if rng.random() < 0.8 else _uniform(rng, 150, 255),
        dst_host_srv_count=host_srv_count,
        dst_host_same_srv_rate=same,
        dst_host_diff_srv_rate=_small_rate(rng, 0.04),
        dst_host_same_src_port_rate=same,
    )


def _portsweep(rng: Rng) -> Record:
    """One host's ports probed one after another: reset or refused, some held open for hours."""
    flag = _pick(rng, {"RSTR": 0.7, "REJ": 0.17, "RSTO": 0.06, "S0": 0.04, "RSTOS0": 0.03})
    count = _uniform(rng, 1, 2) if rng.random() < 0.7 else _uniform(rng, 20, 450)
    return _record(
        "tcp",
        _pick(rng, {"private": 0.66, "other": 0.17, "time": 0.04, "echo": 0.04, "whois": 0.04, "supdup": 0.05}),
        flag,
        duration=_uniform(rng, 5000, 40000) if rng.random() < 0.3 else _uniform(rng, 0, 2),
        src_bytes=_uniform(rng, 0, 1),
        count=count,
        srv_count=_uniform(rng, 1, 2),
        rerror_rate=_rate(rng.uniform(0.9, 1.0)),
        srv_rerror_rate=1.0,
        same_srv_rate=_rate(1 / count if count > 2 else 1.0),
        diff_srv_rate=_rate(rng.uniform(0.5, 1.0) if count > 2 else 0.0),
        dst_host_count=255 if rng.random() < 0.8 else _uniform(rng, 120, 255),
        dst_host_srv_count=_uniform(rng, 1, 2),
        dst_host_same_srv_rate=0.01,
        dst_host_diff_srv_rate=_rate(rng.uniform(0.16, 0.85)),
        dst_host_same_src_port_rate=_rate(rng.uniform(0.2, 1.0)),
        dst_host_rerror_rate=_rate(rng.uniform(0.2, 1.0)),
        dst_host_srv_rerror_rate=1.0,
    )


def _ipsweep(rng: Rng) -> Record:
    """Pings (or TCP probes) to one address after another."""
    icmp = rng.random() < 0.85
    host_srv_count = _uniform(rng, 2, 205)
    flag = "SF" if icmp else _pick(rng, {"REJ": 0.8, "SF": 0.2})
    rerror = 1.0 if flag == "REJ" else 0.0
    return _record(
        "icmp" if icmp else "tcp",
        "eco_i" if icmp else "private",
        flag,
        src_bytes=(8 if rng.random() < 0.8 else 18) if icmp else 0,
        count=1,
        srv_count=_uniform(rng, 1, 50),
        rerror_rate=rerror,
        srv_rerror_rate=rerror,
        same_srv_rate=1.0,
        srv_diff_host_rate=1.0 if rng.random() < 0.7 else 0.0,
        dst_host_count=_uniform(rng, 1, 16),
        dst_host_srv_count=host_srv_count,
        dst_host_same_srv_rate=1.0 if rng.random() < 0.85 else _rate(rng.uniform(0.05, 1)),
        dst_host_same_src_port_rate=1.0 if rng.random() < 0.85 else _rate(rng.uniform(0.05, 1)),
        dst_host_srv_diff_host_rate=_rate(rng.uniform(0.25, 1.0)),
        dst_host_rerror_rate=_rate(rerror * rng.uniform(0.5, 1.0)),
        dst_host_srv_rerror_rate=rerror,
    )


def _satan(rng: Rng) -> Record:
    """A vulnerability scanner: many services of one host, mostly refused, over TCP and UDP."""
    protocol = _pick(rng, {"tcp": 0.6, "udp": 0.38, "icmp": 0.02})
    flag = _pick(rng, {"REJ": 0.9, "S0": 0.05, "SF": 0.05}) if protocol == "tcp" else "SF"
    service = _pick(rng, {"private": 0.6, "other": 0.35, "ftp": 0.05}) if protocol != "icmp" else "eco_i"
    count = _lognormal(rng, 143, 1.0, 8, 511)
    rerror = _rate(rng.uniform(0.7, 1.0)) if flag == "REJ" else 0.0
    host_same = _rate(rng.uniform(0, 0.16))
    return _record(
        protocol,
        service,
        flag,
        src_bytes=_uniform(rng, 0, 1),
        count=count,
        srv_count=_uniform(rng, 1, 12),
        serror_rate=_rate(rng.uniform(0, 0.15)),
        rerror_rate=rerror,
        srv_rerror_rate=1.0 if flag == "REJ" else 0.0,
        same_srv_rate=_rate(rng.uniform(0, 0.1)),
        diff_srv_rate=_rate(rng.uniform(0.6, 1.0)),
        dst_host_count=255,
        dst_host_srv_count=_uniform(rng, 1, 34),
        dst_host_same_srv_rate=host_same,
        dst_host_diff_srv_rate=_rate(rng.uniform(0.07, 1.0)),
        dst_host_same_src_port_rate=_rate(rng.uniform(0, 1)) if protocol == "udp" else 0.0,
        dst_host_serror_rate=_rate(rng.uniform(0, 0.16)),
        dst_host_rerror_rate=_rate(rerror * rng.uniform(0.6, 1.0)),
        dst_host_srv_rerror_rate=1.0 if flag == "REJ" else 0.0,
    )


def _nmap(rng: Rng) -> Record:
    """A quiet scanner: a ping, a UDP probe or a half-open TCP probe to each host."""
    protocol = _pick(rng, {"icmp": 0.7, "udp": 0.17, "tcp": 0.13})
    serror = 1.0 if protocol == "tcp" else 0.0
    return _record(
        protocol,
        {"icmp": "eco_i", "udp": "private", "tcp": "private"}[protocol],
        "SH" if protocol == "tcp" else "SF",
        src_bytes={"icmp": 8, "udp": _uniform(rng, 207, 215), "tcp": 0}[protocol],
        count=1,
        srv_count=_uniform(rng, 1, 52),
        serror_rate=serror,
        srv_serror_rate=serror,
        same_srv_rate=1.0,
        srv_diff_host_rate=1.0 if rng.random() < 0.66 else 0.0,
        dst_host_count=_uniform(rng, 1, 3) if rng.random() < 0.7 else _uniform(rng, 4, 255),
        dst_host_srv_count=_uniform(rng, 1, 207),
        dst_host_same_srv_rate=1.0 if rng.random() < 0.8 else _rate(rng.uniform(0, 1)),
        dst_host_same_src_port_rate=_rate(rng.uniform(0.83, 1.0)),
        dst_host_srv_diff_host_rate=_rate(rng.uniform(0, 0.4)),
        dst_host_serror_rate=_rate(serror * rng.uniform(0.8, 1.0)),
        dst_host_srv_serror_rate=serror,
    )


def _back(rng: Rng) -> Record:
    """Apache DoS: an HTTP request of 54540 bytes of slashes."""
    host_count = _uniform(rng, 22, 255)
    return _record(
        "tcp",
        "http",
        "SF" if rng.random() < 0.88 else "RSTR",
        src_bytes=54540,
        dst_bytes=8314,
        hot=2 if rng.random() < 0.87 else 1,
        logged_in=1,
        num_compromised=int(rng.random() < 0.89),
        count=_uniform(rng, 2, 6),
        srv_count=_uniform(rng, 2, 7),
        rerror_rate=0.0 if rng.random() < 0.8 else _rate(rng.uniform(0.2, 0.75)),
        same_srv_rate=1.0,
        dst_host_count=host_count,
        dst_host_srv_count=host_count,
        dst_host_same_srv_rate=1.0,
        dst_host_same_src_port_rate=_small_rate(rng, 0.02),
        dst_host_rerror_rate=_small_rate(rng, 0.06),
        dst_host_srv_rerror_rate=_small_rate(rng, 0.06),
    )


def _teardrop(rng: Rng) -> Record:
    """Overlapping IP fragments: 28-byte UDP packets with wrong fragments."""
    count = _uniform(rng, 11, 120)
    host_srv_count = _uniform(rng, 11, 120)
    same = _rate(host_srv_count / 255 + rng.uniform(0, 0.05))
    return _record(
        "udp",
        "private",
        "SF",
        src_bytes=28,
        wrong_fragment=3,
        count=count,
        srv_count=int(count * rng.uniform(0.8, 1.0)),
        same_srv_rate=_rate(rng.uniform(0.95, 1.0)),
        diff_srv_rate=_small_rate(rng, 0.01),
        dst_host_count=255 if rng.random() < 0.8 else _uniform(rng, 140, 255),
        dst_host_srv_count=host_srv_count,
        dst_host_same_srv_rate=same,
        dst_host_diff_srv_rate=_rate(rng.uniform(0, 0.7)),
        dst_host_same_src_port_rate=same,
        dst_host_rerror_rate=0.0 if rng.random() < 0.6 else _rate(rng.uniform(0, 0.9)),
    )


def _pod(rng: Rng) -> Record:
    """Ping of death: oversized, fragmented 1480-byte echo replies."""
    return _record(
        "icmp",
        "ecr_i",
        "SF",
        src_bytes=1480,
        wrong_fragment=1,
        count=_uniform(rng, 1, 20),
        srv_count=_uniform(rng, 2, 20),
        same_srv_rate=1.0,
        srv_diff_host_rate=0.0 if rng.random() < 0.6 else 0.67,
        dst_host_count=_uniform(rng, 1, 255),
        dst_host_srv_count=_uniform(rng, 2, 155),
        dst_host_same_srv_rate=_rate(rng.uniform(0.03, 1.0)),
        dst_host_same_src_port_rate=_rate(rng.uniform(0.03, 1.0)),
    )


def _guess_passwd(rng: Rng) -> Record:
    """Telnet password guessing: one failed login per connection, then a reset."""
    host_count = _uniform(rng, 4, 47)
    return _record(
        "tcp",
        "telnet",
        "RSTO",
        src_bytes=_uniform(rng, 125, 126),
        dst_bytes=179,
        hot=1,
        num_failed_logins=1,
        count=_uniform(rng, 1, 2),
        srv_count=_uniform(rng, 1, 2),
        rerror_rate=1.0,
        srv_rerror_rate=1.0,
        same_srv_rate=1.0,
        dst_host_count=host_count,
        dst_host_srv_count=host_count,
        dst_host_same_srv_rate=1.0,
        dst_host_same_src_port_rate=_rate(rng.uniform(0.02, 0.33)),
        dst_host_serror_rate=_rate(rng.uniform(0.04, 0.33)),
        dst_host_srv_serror_rate=_rate(rng.uniform(0.04, 0.33)),
        dst_host_rerror_rate=_rate(rng.uniform(0.74, 0.96)),
        dst_host_srv_rerror_rate=_rate(rng.uniform(0.74, 0.96)),
    )


def _warezclient(rng: Rng) -> Record:
    """Downloading pirated files from an anonymous FTP server: close to ordinary FTP traffic."""
    data = rng.random() < 0.68
    host_count = _uniform(rng, 2, 12) if rng.random() < 0.6 else 255
    return _record(
        "tcp",
        "ftp_data" if data else "ftp",
        "SF",
        duration=0 if rng.random() < 0.8 else _lognormal(rng, 12, 2.0),
        src_bytes=334 if data and rng.random() < 0.6 else _lognormal(rng, 7000, 2.0),
        dst_bytes=0 if data else _uniform(rng, 2440, 2453),
        hot=0 if data else 28,
        logged_in=1,
        is_guest_login=0 if data else 1,
        count=_uniform(rng, 1, 2),
        srv_count=_uniform(rng, 1, 2),
        same_srv_rate=1.0,
        dst_host_count=host_count,
        dst_host_srv_count=_uniform(rng, 12, 93),
        dst_host_same_srv_rate=1.0 if rng.random() < 0.6 else _rate(rng.uniform(0.2, 1.0)),
        dst_host_same_src_port_rate=1.0 if data and rng.random() < 0.7 else _small_rate(rng, 0.05),
        dst_host_srv_diff_host_rate=_rate(rng.uniform(0, 0.2)),
    )


# attack -> (generator, share among attacks, typical NSL-KDD difficulty)
_ATTACKS: dict[str, tuple[Callable[[Rng], Record], float, int]] = {
    "neptune": (_neptune, 0.62, 20),
    "ipsweep": (_ipsweep, 0.06, 16),
    "satan": (_satan, 0.06, 18),
    "portsweep": (_portsweep, 0.05, 15),
    "smurf": (_smurf, 0.045, 18),
    "nmap": (_nmap, 0.025, 15),
    "back": (_back, 0.02, 12),
    "teardrop": (_teardrop, 0.02, 15),
    "warezclient": (_warezclient, 0.015, 10),
    "pod": (_pod, 0.005, 15),
    "guess_passwd": (_guess_passwd, 0.005, 10),
}


# --------------------------------------------------------------------------------------------
# Records and files


#: How each feature is written: rates with two decimals (as in NSL-KDD), counts as integers.
_FORMAT: tuple[tuple[str, str], ...] = tuple(
    (f, ".2f" if f.endswith("_rate") else "s" if f in _CATEGORICAL else "d") for f in NSL_KDD_FEATURES
)


def _line(record: Record, label: str, difficulty: int) -> str:
    fields = [format(int(record[f]) if spec == "d" else record[f], spec) for f, spec in _FORMAT]
    return ",".join([*fields, label, str(difficulty)]) + "\n"


def kdd_lines(n: int, *, seed: int = 0, attack_share: float = ATTACK_SHARE) -> list[str]:
    """``n`` NSL-KDD records (newline-terminated lines), normal and attack records in random order."""
    rng = np.random.default_rng(seed)
    attacks = {name: share for name, (_, share, _) in _ATTACKS.items()}
    lines = []
    for is_attack in rng.random(n) < attack_share:
        if is_attack:
            label = _pick(rng, attacks)
            generate, _, difficulty = _ATTACKS[label]
            lines.append(_line(generate(rng), label, int(_clip(difficulty + int(rng.integers(-2, 3)), 0, 21))))
        else:
            lines.append(_line(_normal(rng), "normal", _pick_difficulty(rng)))
    return lines


def _pick_difficulty(rng: Rng) -> int:
    return int(_pick(rng, {"21": 0.7, "20": 0.15, "19": 0.07, "18": 0.05, "16": 0.03}))


def write_kdd(path: Path, lines: Sequence[str]) -> Path:
    """Write records as an NSL-KDD file, gzipped when ``path`` ends in ``.gz``."""
    text = "".join(lines)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
