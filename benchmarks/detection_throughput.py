"""End-to-end throughput of ``securenet analyze`` against raw IsolationForest scoring.

Generates seeded synthetic Zeek ``conn.log`` traffic (a TSV with ``#fields``/``#types``
headers: a mix of services, ports, connection states, sizes, durations, hosts and
timestamps, plus injected port scans, sweeps, a SYN flood, SSH brute force and
exfiltration), trains a :class:`FlowAnomalyDetector` on a separate normal baseline, and
then times the CLI's own path, ``securenet.commands.analyze`` with ndjson output:
read_flows -> features -> model scores and rules -> verdicts -> ndjson.

In the same run it times raw ``IsolationForest.score_samples`` on the already-built feature
matrix of the same flows, with the detector's own fitted forest (the primary ratio) and with
a plain IsolationForest(100 trees, 256 samples) for comparison. Target: end to end at
least 0.5 of the detector's own forest. Each size runs in a fresh subprocess, so the peak
RSS (VmHWM) of each is its own: flat memory means the same peak for every size.

    .venv/bin/python benchmarks/detection_throughput.py [--flows 1000000] [--small 250000]
        [--baseline 50000] [--seed 0] [--workdir DIR]

With ``--workdir`` the generated logs are kept there and reused by later runs (the model is
fitted afresh each time); ``--child e2e|raw`` runs one measurement alone (e.g. under a
profiler).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FIELDS = (
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
)
TYPES = (
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "bool",
    "bool",
    "count",
    "string",
    "count",
    "count",
    "count",
    "count",
    "set[string]",
)
#: Flows per second of the synthetic network (baseline and live traffic alike), so that
#: window features see the same density in both.
FLOWS_PER_SECOND = 300.0
START_TS = 1_700_000_000.0
UNSET = "-"


@dataclass(frozen=True)
class Service:
    """One kind of normal traffic: its share, endpoints and size/duration distributions."""

    name: str
    share: float
    proto: str
    ports: tuple[int, ...]
    servers: str  # "dns", "internal" or "external"
    states: dict[str, float]
    orig_bytes: tuple[float, float]  # lognormal mean, sigma
    resp_bytes: tuple[float, float]
    duration: tuple[float, float]


SERVICES: tuple[Service, ...] = (
    Service(
        "ssl",
        0.38,
        "tcp",
        (443,),
        "external",
        {"SF": 0.86, "S1": 0.02, "RSTO": 0.05, "RSTR": 0.04, "S0": 0.02, "SH": 0.01},
        (7.0, 1.0),
        (9.5, 2.0),
        (0.5, 1.8),
    ),
    Service(
        "dns", 0.30, "udp", (53,), "dns", {"SF": 0.9, "S0": 0.08, "SHR": 0.02}, (3.6, 0.3), (4.8, 0.6), (-3.5, 1.0)
    ),
    Service(
        "http",
        0.12,
        "tcp",
        (80, 8080),
        "external",
        {"SF": 0.84, "RSTO": 0.05, "RSTR": 0.05, "S0": 0.03, "REJ": 0.02, "SH": 0.01},
        (6.2, 0.8),
        (8.5, 2.2),
        (-0.5, 1.8),
    ),
    Service(
        "-",
        0.06,
        "tcp",
        (3306, 5432, 6379, 9200),
        "internal",
        {"SF": 0.8, "S1": 0.05, "RSTO": 0.05, "REJ": 0.05, "S0": 0.05},
        (6.0, 1.5),
        (8.0, 2.0),
        (0.0, 2.0),
    ),
    Service("ntp", 0.04, "udp", (123,), "external", {"SF": 0.95, "S0": 0.05}, (3.9, 0.05), (3.9, 0.05), (-3.0, 0.5)),
    Service(
        "smtp",
        0.03,
        "tcp",
        (25, 587),
        "internal",
        {"SF": 0.9, "RSTO": 0.05, "S0": 0.05},
        (8.5, 1.5),
        (6.5, 0.5),
        (0.5, 1.0),
    ),
    Service(
        "ssh", 0.02, "tcp", (22,), "internal", {"SF": 0.9, "RSTO": 0.05, "S0": 0.05}, (8.0, 2.0), (9.0, 2.5), (3.5, 2.0)
    ),
    Service("-", 0.03, "icmp", (0,), "external", {"OTH": 1.0}, (4.0, 0.5), (4.0, 0.5), (-2.0, 1.0)),
    Service(
        "-",
        0.02,
        "udp",
        (137, 138, 1900, 5353),
        "internal",
        {"S0": 0.9, "SF": 0.1},
        (5.0, 0.8),
        (4.5, 0.5),
        (-1.0, 1.0),
    ),
)
HISTORY = {"SF": "ShADadFf", "S1": "ShAD", "RSTO": "ShADadR", "RSTR": "ShADadr", "S0": "S", "REJ": "Sr"}
HISTORY_BY_STATE = HISTORY | {"SH": "SF", "SHR": "Hr", "OTH": "C"}

FloatArray = npt.NDArray[np.float64]


class HostPool:
    """Seeded address pools: busy internal clients, internal servers, external servers."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.clients = np.array([f"10.0.{i // 250}.{i % 250 + 1}" for i in range(4000)], dtype=object)
        self.internal = np.array([f"10.1.0.{i}" for i in range(1, 61)], dtype=object)
        self.dns = np.array(["10.1.0.53", "10.1.0.54"], dtype=object)
        octets = rng.integers(1, 255, size=(3000, 4))
        octets[:, 0] = rng.choice([23, 31, 52, 93, 104, 142, 151, 172, 185, 203], size=3000)
        self.external = np.array([".".join(map(str, row)) for row in octets.tolist()], dtype=object)
        # Client activity is heavy-tailed (a few busy hosts, many quiet ones), and each
        # client talks to its own few favourite servers, drawn from a popularity curve.
        weights = 1.0 / np.arange(1, self.clients.size + 1) ** 0.6
        self.client_weights = weights / weights.sum()
        popularity = 1.0 / np.arange(1, self.external.size + 1) ** 1.1
        self.favourite_external = rng.choice(
            self.external.size, (self.clients.size, 20), p=popularity / popularity.sum()
        )
        self.favourite_internal = rng.integers(0, self.internal.size, (self.clients.size, 3))

    def servers(self, kind: str, clients: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.object_]:
        """A server of ``kind`` for each client (by index)."""
        n = clients.size
        if kind == "dns":
            return rng.choice(self.dns, n)
        if kind == "internal":
            return self.internal[self.favourite_internal[clients, rng.integers(0, 3, n)]]
        return self.external[self.favourite_external[clients, rng.integers(0, 20, n)]]


def _lognormal(rng: np.random.Generator, params: tuple[float, float], n: int) -> FloatArray:
    return rng.lognormal(params[0], params[1], n)


def normal_traffic(n: int, rng: np.random.Generator, hosts: HostPool, start: float) -> pd.DataFrame:
    """``n`` benign flows at :data:`FLOWS_PER_SECOND`, sorted by time."""
    shares = np.array([s.share for s in SERVICES])
    kind = rng.choice(len(SERVICES), size=n, p=shares / shares.sum())
    ts = start + np.sort(rng.uniform(0.0, n / FLOWS_PER_SECOND, n))
    clients = rng.choice(hosts.clients.size, n, p=hosts.client_weights)
    columns: dict[str, Any] = {
        "ts": ts,
        "orig_h": hosts.clients[clients],
        "orig_p": rng.integers(32768, 61000, n).astype(np.float64),
        "resp_h": np.empty(n, dtype=object),
        "resp_p": np.zeros(n),
        "proto": np.empty(n, dtype=object),
        "service": np.empty(n, dtype=object),
        "duration": np.zeros(n),
        "orig_bytes": np.zeros(n),
        "resp_bytes": np.zeros(n),
        "conn_state": np.empty(n, dtype=object),
    }
    for index, service in enumerate(SERVICES):
        rows = np.flatnonzero(kind == index)
        m = rows.size
        states = list(service.states)
        probabilities = np.array([service.states[s] for s in states])
        columns["resp_h"][rows] = hosts.servers(service.servers, clients[rows], rng)
        columns["resp_p"][rows] = rng.choice(service.ports, m)
        columns["proto"][rows] = service.proto
        columns["service"][rows] = service.name
        columns["conn_state"][rows] = rng.choice(
            np.array(states, dtype=object), m, p=probabilities / probabilities.sum()
        )
        columns["duration"][rows] = _lognormal(rng, service.duration, m)
        columns["orig_bytes"][rows] = np.round(_lognormal(rng, service.orig_bytes, m))
        columns["resp_bytes"][rows] = np.round(_lognormal(rng, service.resp_bytes, m))
        if service.proto == "icmp":
            columns["orig_p"][rows] = 8.0
    frame = pd.DataFrame(columns)
    unanswered = frame["conn_state"].isin(["S0", "REJ", "SH"]).to_numpy()
    frame.loc[unanswered, "resp_bytes"] = 0.0
    # Zeek leaves duration and sizes unset for single-packet connections.
    frame.loc[frame["conn_state"].isin(["S0", "REJ"]).to_numpy(), ["duration", "orig_bytes"]] = np.nan
    # A connection that never completed has no application-layer service.
    frame.loc[unanswered & (frame["proto"] == "tcp").to_numpy(), "service"] = UNSET
    return frame


def attack_traffic(rng: np.random.Generator, hosts: HostPool, start: float, span: float) -> pd.DataFrame:
    """One round of attacks at random times within [start, start + span)."""
    parts: list[pd.DataFrame] = []

    def burst(n: int, spread: float) -> FloatArray:
        """``n`` sorted times within ``spread`` seconds, starting somewhere in the round."""
        return start + rng.uniform(0, max(span - spread, 0.0)) + np.sort(rng.uniform(0, spread, n))

    # Vertical port scan: 1000 ports of one internal server in ~10 s.
    n = 1000
    parts.append(
        pd.DataFrame(
            {
                "ts": burst(n, 10.0),
                "orig_h": rng.choice(hosts.external),
                "resp_h": rng.choice(hosts.internal),
                "resp_p": rng.permutation(np.arange(1, 1025))[:n].astype(np.float64),
                "proto": "tcp",
                "service": UNSET,
                "conn_state": rng.choice(np.array(["S0", "REJ"], dtype=object), n, p=[0.7, 0.3]),
            }
        )
    )
    # Horizontal sweep of SMB over 400 internal clients in ~30 s.
    n = 400
    parts.append(
        pd.DataFrame(
            {
                "ts": burst(n, 30.0),
                "orig_h": rng.choice(hosts.clients[:50]),
                "resp_h": rng.choice(hosts.clients, n, replace=False),
                "resp_p": 445.0,
                "proto": "tcp",
                "service": UNSET,
                "conn_state": "S0",
            }
        )
    )
    # SYN flood on one web server from spoofed sources, 3000 SYNs in 10 s.
    n = 3000
    spoofed = rng.integers(1, 255, size=(n, 4))
    parts.append(
        pd.DataFrame(
            {
                "ts": burst(n, 10.0),
                "orig_h": [".".join(map(str, row)) for row in spoofed.tolist()],
                "resp_h": "10.1.0.10",
                "resp_p": 80.0,
                "proto": "tcp",
                "service": UNSET,
                "conn_state": "S0",
            }
        )
    )
    # SSH password guessing: 300 short connections in 2 minutes.
    n = 300
    parts.append(
        pd.DataFrame(
            {
                "ts": burst(n, 120.0),
                "orig_h": rng.choice(hosts.external),
                "resp_h": "10.1.0.22",
                "resp_p": 22.0,
                "proto": "tcp",
                "service": "ssh",
                "duration": rng.uniform(0.5, 3.0, n),
                "orig_bytes": rng.integers(1500, 2500, n).astype(np.float64),
                "resp_bytes": rng.integers(2000, 3000, n).astype(np.float64),
                "conn_state": rng.choice(np.array(["SF", "RSTO"], dtype=object), n, p=[0.8, 0.2]),
            }
        )
    )
    # Exfiltration: one client pushes 5 x ~300 MB to one external host.
    n = 5
    parts.append(
        pd.DataFrame(
            {
                "ts": burst(n, 600.0),
                "orig_h": rng.choice(hosts.clients),
                "resp_h": rng.choice(hosts.external),
                "resp_p": 443.0,
                "proto": "tcp",
                "service": "ssl",
                "duration": rng.uniform(200, 400, n),
                "orig_bytes": rng.uniform(2.5e8, 3.5e8, n).round(),
                "resp_bytes": rng.uniform(2e5, 4e5, n).round(),
                "conn_state": "SF",
            }
        )
    )
    frame = pd.concat(parts, ignore_index=True)
    frame["orig_p"] = rng.integers(32768, 61000, len(frame)).astype(np.float64)
    return frame


def synthetic_flows(n: int, seed: int, *, attacks: bool) -> tuple[pd.DataFrame, npt.NDArray[np.bool_]]:
    """``n`` flows (normal, plus one attack round per 250k flows) and an is-attack mask."""
    rng = np.random.default_rng(seed)
    hosts = HostPool(np.random.default_rng(12345))  # the same network for baseline and live traffic
    rounds = max(1, n // 250_000) if attacks else 0
    attack_parts = []
    span = n / FLOWS_PER_SECOND
    for i in range(rounds):
        attack_parts.append(attack_traffic(rng, hosts, START_TS + i * span / rounds, span / rounds))
    n_attack = sum(len(p) for p in attack_parts)
    normal = normal_traffic(n - n_attack, rng, hosts, START_TS)
    frame = pd.concat([normal, *attack_parts], ignore_index=True)
    is_attack = np.zeros(len(frame), dtype=bool)
    is_attack[len(normal) :] = True
    order = np.argsort(frame["ts"].to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    return _complete(frame, rng), is_attack[order]


def _complete(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Fill the Zeek columns derived from the core ones: packets, IP bytes, history, uid."""
    n = len(frame)
    state = frame["conn_state"].to_numpy(dtype=object)
    orig_bytes = frame["orig_bytes"].to_numpy(dtype=np.float64)
    resp_bytes = frame["resp_bytes"].to_numpy(dtype=np.float64)
    single = np.isin(state, ["S0", "REJ"])
    orig_pkts = np.where(single, rng.integers(1, 3, n), np.ceil(np.nan_to_num(orig_bytes) / 1200) + 2)
    resp_pkts = np.where(state == "REJ", 1, np.where(single, 0, np.ceil(np.nan_to_num(resp_bytes) / 1400) + 2))
    frame["orig_pkts"] = orig_pkts
    frame["resp_pkts"] = resp_pkts
    frame["orig_ip_bytes"] = np.nan_to_num(orig_bytes) + 40 * orig_pkts
    frame["resp_ip_bytes"] = np.nan_to_num(resp_bytes) + 40 * resp_pkts
    frame["missed_bytes"] = np.where(rng.random(n) < 0.001, rng.integers(1, 5000, n), 0)
    frame["history"] = pd.Series(state).map(HISTORY_BY_STATE).fillna("S").to_numpy(dtype=object)
    frame["local_orig"] = np.where(frame["orig_h"].str.startswith("10.").to_numpy(dtype=bool), "T", "F")
    frame["local_resp"] = np.where(frame["resp_h"].str.startswith("10.").to_numpy(dtype=bool), "T", "F")
    alphabet = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    letters = alphabet[rng.integers(0, alphabet.size, size=(n, 17))]
    uids = np.concatenate([np.full((n, 1), ord("C"), dtype=np.uint8), letters], axis=1)
    frame["uid"] = uids.view("S18").ravel().astype(str)
    frame["tunnel_parents"] = UNSET
    return frame


def write_zeek(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as a Zeek TSV conn.log, unset fields as ``-``."""
    out = pd.DataFrame(
        {
            "ts": frame["ts"].map("{:.6f}".format),
            "uid": frame["uid"],
            "id.orig_h": frame["orig_h"],
            "id.orig_p": frame["orig_p"].astype(np.int64),
            "id.resp_h": frame["resp_h"],
            "id.resp_p": frame["resp_p"].astype(np.int64),
            "proto": frame["proto"],
            "service": frame["service"].fillna(UNSET),
            "duration": frame["duration"].round(6),
            "orig_bytes": frame["orig_bytes"].astype("Int64"),
            "resp_bytes": frame["resp_bytes"].astype("Int64"),
            "conn_state": frame["conn_state"],
            "local_orig": frame["local_orig"],
            "local_resp": frame["local_resp"],
            "missed_bytes": frame["missed_bytes"].astype(np.int64),
            "history": frame["history"],
            "orig_pkts": frame["orig_pkts"].astype(np.int64),
            "orig_ip_bytes": frame["orig_ip_bytes"].astype(np.int64),
            "resp_pkts": frame["resp_pkts"].astype(np.int64),
            "resp_ip_bytes": frame["resp_ip_bytes"].astype(np.int64),
            "tunnel_parents": frame["tunnel_parents"],
        }
    )
    with path.open("w", encoding="utf-8") as handle:
        handle.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n")
        handle.write("#path\tconn\n#open\t2023-11-14-22-13-20\n")
        handle.write("#fields\t" + "\t".join(FIELDS) + "\n#types\t" + "\t".join(TYPES) + "\n")
        out.to_csv(handle, sep="\t", header=False, index=False, na_rep=UNSET, lineterminator="\n")
        handle.write("#close\t2023-11-15-01-13-20\n")


# --------------------------------------------------------------------------------------------
# Measurements, each in its own process.


def peak_rss_mib() -> float:
    """This process's peak resident set size (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_e2e(data: Path, model: Path, output: Path | None) -> dict[str, Any]:
    """The CLI's analyze path, ndjson out, timed from opening the log to the last line written."""
    from securenet.commands import analyze
    from securenet.config import Settings

    settings = Settings(model_dir=model.parent, model_key=None)
    target = output if output is not None else Path(os.devnull)
    before = current_rss_mib()
    with target.open("w", encoding="utf-8") as out, open(os.devnull, "w") as err:
        cpu = time.process_time()
        start = time.perf_counter()
        summary = analyze(data, "zeek", model, output="ndjson", on_error="fail", settings=settings, out=out, err=err)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return {
        "flows": summary["flows"],
        "seconds": seconds,
        "cpu_seconds": cpu,
        "threats": summary["threats"],
        "incidents": summary["incidents"],
        "rss_before_mib": before,
        "peak_rss_mib": peak_rss_mib(),
    }


def child_raw(data: Path, model: Path, baseline: Path, seed: int, repeats: int) -> dict[str, Any]:
    """Raw score_samples on the prebuilt feature matrix: the detector's forest and a plain one.

    Each is timed ``repeats`` times and the fastest run kept, which favours raw scoring.
    """
    from sklearn.ensemble import IsolationForest

    from securenet.netsec.models import FlowAnomalyDetector
    from securenet.netsec.readers import read_all, read_flows

    detector = FlowAnomalyDetector.load(model, model.parent)
    # Chunk by chunk, as analyze builds it: window features are per chunk.
    matrix = np.concatenate([detector.extractor.transform(c.frame) for c in read_flows(data, "zeek")])
    forest = detector._require_fitted().iforest
    if forest is None:
        raise SystemExit("the detector has no IsolationForest component")
    train = detector.extractor.transform(read_all(baseline, "zeek").frame)
    plain = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(train)

    def fastest(score: Any) -> tuple[float, float]:
        runs = []
        for _ in range(repeats):
            cpu, start = time.process_time(), time.perf_counter()
            score(matrix)
            runs.append((time.perf_counter() - start, time.process_time() - cpu))
        return min(runs)

    own_seconds, own_cpu = fastest(forest.score_samples)
    plain_seconds, _ = fastest(plain.score_samples)
    return {
        "flows": len(matrix),
        "features": matrix.shape[1],
        "own_seconds": own_seconds,
        "own_cpu_seconds": own_cpu,
        "own_trees": forest.n_estimators,
        "own_samples": forest.max_samples_,
        "plain_seconds": plain_seconds,
    }


def run_child(args: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=os.environ.copy()
    )
    last = result.stdout.strip().splitlines()[-1]
    parsed: dict[str, Any] = json.loads(last)
    return parsed


def detection_check(output: Path, is_attack: npt.NDArray[np.bool_]) -> tuple[float, float]:
    """Share of injected attack flows and of normal flows marked as threats."""
    verdicts = pd.read_json(output, lines=True, dtype={"is_threat": bool})
    threat = verdicts["is_threat"].to_numpy(dtype=bool)
    if threat.size != is_attack.size:
        raise SystemExit(f"{threat.size} verdicts for {is_attack.size} flows")
    return float(threat[is_attack].mean()), float(threat[~is_attack].mean())


def prepare(workdir: Path, sizes: list[int], baseline_rows: int, seed: int) -> dict[str, Any]:
    """Generate the logs (reused when the workdir already has them) and fit the model."""
    from securenet.netsec.models import FlowAnomalyDetector
    from securenet.netsec.readers import read_all

    info_path = workdir / "logs.json"
    wanted = {"sizes": sizes, "baseline": baseline_rows, "seed": seed}
    info: dict[str, Any] = {}
    if info_path.exists():
        info = json.loads(info_path.read_text())
    if info.get("wanted") != wanted:
        start = time.perf_counter()
        info = {"wanted": wanted, "logs": {}}
        normal, _ = synthetic_flows(baseline_rows, seed + 1000, attacks=False)
        write_zeek(normal, workdir / "baseline.log")
        for n in sizes:
            frame, is_attack = synthetic_flows(n, seed + n, attacks=True)
            path = workdir / f"conn-{n}.log"
            write_zeek(frame, path)
            np.save(workdir / f"attack-{n}.npy", is_attack)
            info["logs"][str(n)] = {"path": str(path), "bytes": path.stat().st_size}
        info["generate_seconds"] = time.perf_counter() - start
        info_path.write_text(json.dumps(info))
    # The model is always fitted afresh, so it matches the code being measured.
    start = time.perf_counter()
    detector = FlowAnomalyDetector(random_state=seed).fit(read_all(workdir / "baseline.log", "zeek").frame)
    detector.save(workdir / "model.snm")
    return info | {"fit_seconds": time.perf_counter() - start, "features": len(detector.feature_names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=1_000_000, help="flows in the main run (default 1,000,000)")
    parser.add_argument("--small", type=int, default=250_000, help="flows in the memory comparison run")
    parser.add_argument("--baseline", type=int, default=50_000, help="normal flows the model is trained on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="keep the generated logs here and reuse them")
    parser.add_argument("--repeats", type=int, default=2, help="raw scoring runs per measurement (best kept)")
    parser.add_argument("--child", choices=("e2e", "raw"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "e2e":
        print(json.dumps(child_e2e(args.data, args.model, args.output)))
        return
    if args.child == "raw":
        raw_result = child_raw(args.data, args.model, args.model.parent / "baseline.log", args.seed, args.repeats)
        print(json.dumps(raw_result))
        return

    with tempfile.TemporaryDirectory(prefix="securenet-throughput-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        sizes = sorted({args.small, args.flows})
        info = prepare(workdir, sizes, args.baseline, args.seed)
        model = workdir / "model.snm"
        print(
            f"synthetic Zeek conn.log, seed {args.seed}; model trained on {args.baseline:,} normal flows "
            f"({info['features']} features) in {info['fit_seconds']:.1f} s"
        )
        main_log = info["logs"][str(args.flows)]["path"]
        raw_args = ["--child", "raw", "--data", main_log, "--model", str(model), "--seed", str(args.seed)]
        raw_args += ["--repeats", str(args.repeats)]
        # Raw scoring is timed before and after the end-to-end runs and the faster kept: on a
        # shared machine this keeps a quiet spell from favouring either side of the ratio.
        raws = [run_child(raw_args)]
        e2e: dict[int, dict[str, Any]] = {}
        for n in sizes:
            log = info["logs"][str(n)]
            output = workdir / f"verdicts-{n}.ndjson"
            e2e[n] = run_child(
                ["--child", "e2e", "--data", log["path"], "--model", str(model), "--output", str(output)]
            )
            e2e[n]["recall"], e2e[n]["fpr"] = detection_check(output, np.load(workdir / f"attack-{n}.npy"))
            output.unlink()
        raws.append(run_child(raw_args))

    print("\nEnd to end: read_flows -> features -> score + rules -> verdicts -> ndjson (commands.analyze)")
    print(
        f"  {'flows':>10}{'MiB in':>8}{'seconds':>9}{'CPU s':>7}{'flows/s':>10}{'RSS start':>11}{'peak RSS':>10}"
        f"{'threats':>9}{'attack rec':>11}{'normal FPR':>11}"
    )
    for n in sizes:
        r = e2e[n]
        print(
            f"  {r['flows']:>10,}{info['logs'][str(n)]['bytes'] / 2**20:>8.0f}"
            f"{r['seconds']:>9.1f}{r['cpu_seconds']:>7.1f}"
            f"{r['flows'] / r['seconds']:>10,.0f}{r['rss_before_mib']:>9.0f}Mi{r['peak_rss_mib']:>8.0f}Mi"
            f"{r['threats']:>9,}{r['recall']:>11.3f}{r['fpr']:>11.4f}"
        )
    main_run = e2e[args.flows]
    ours = main_run["flows"] / main_run["seconds"]
    raw = min(raws, key=lambda r: r["own_seconds"])
    own = raw["flows"] / raw["own_seconds"]
    plain = raw["flows"] / min(r["plain_seconds"] for r in raws)
    timings = ", ".join(f"{r['flows'] / r['own_seconds']:,.0f}" for r in raws)
    print(f"\nRaw IsolationForest.score_samples on the prebuilt {raw['flows']:,} x {raw['features']} matrix")
    print(f"  (best of {args.repeats} runs, before and after the end-to-end runs; the faster kept)")
    print(f"  detector's own forest ({raw['own_trees']} trees, {raw['own_samples']} samples): {own:>10,.0f} flows/s")
    print(f"    before / after: {timings} flows/s; CPU {raw['own_cpu_seconds']:.1f} s for {raw['own_seconds']:.1f} s")
    print(f"  plain forest (100 trees, 256 samples):{'':>9}{plain:>10,.0f} flows/s")
    print("\nRatio, end to end / raw, in flows/s (target >= 0.5 of the detector's own forest)")
    print(f"  vs own forest:   {ours / own:.3f}")
    print(f"  vs plain forest: {ours / plain:.3f}")
    cpu_ratio = (raw["own_cpu_seconds"] / raw["flows"]) / (main_run["cpu_seconds"] / main_run["flows"])
    print(f"  vs own forest, in CPU time per flow: {cpu_ratio:.3f}")
    small = e2e[min(sizes)]
    if len(sizes) > 1:
        growth = main_run["peak_rss_mib"] - small["peak_rss_mib"]
        print(
            f"\nMemory: peak RSS {small['peak_rss_mib']:.0f} MiB at {small['flows']:,} flows, "
            f"{main_run['peak_rss_mib']:.0f} MiB at {main_run['flows']:,} ({growth:+.0f} MiB for "
            f"{main_run['flows'] / small['flows']:.0f}x the flows)"
        )


if __name__ == "__main__":
    main()
