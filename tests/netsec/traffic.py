"""Small synthetic flow sets shared by the netsec tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def background_and_scan(seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An hour of ordinary traffic between 20 clients and 3 servers, and a 20 s port scan inside it."""
    rng = np.random.default_rng(seed)
    normal = [
        {"ts": float(t), "orig_h": f"10.0.0.{rng.integers(20)}", "resp_h": f"10.1.0.{rng.integers(3)}"}
        | {"resp_p": float(rng.choice([443, 53])), "proto": "tcp", "conn_state": "SF", "orig_bytes": 500.0}
        for t in rng.uniform(0, 3600, 1500)
    ]
    scan = [
        {"ts": 1800.0 + i * 0.1, "orig_h": "10.0.0.99", "resp_h": "10.1.0.1", "resp_p": float(1000 + i)}
        | {"proto": "tcp", "conn_state": "S0", "orig_bytes": 0.0}
        for i in range(200)
    ]
    return normal, scan
