from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from securenet.netsec.features import (
    OTHER_TOKEN,
    FeatureExtractor,
    FeatureSchemaError,
    window_traffic_features,
)
from securenet.netsec.flows import flows_to_frame, normalize_frame


def baseline_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """NSL-KDD-shaped flows: no timestamps or addresses, some x_ extras."""
    rng = np.random.default_rng(seed)
    return normalize_frame(
        pd.DataFrame(
            {
                "proto": rng.choice(["tcp", "udp"], n, p=[0.8, 0.2]),
                "service": rng.choice(["http", "domain_u", "smtp"], n),
                "conn_state": rng.choice(["SF", "REJ"], n, p=[0.9, 0.1]),
                "duration": rng.exponential(2.0, n),
                "orig_bytes": rng.lognormal(6, 1, n),
                "resp_bytes": rng.lognormal(8, 2, n),
                "x_count": rng.integers(0, 300, n).astype(float),
                "x_serror_rate": rng.uniform(0, 1, n),
            }
        )
    )


def zeek_frame(rows: list[tuple[float, str, str, float, str]]) -> pd.DataFrame:
    return flows_to_frame(
        {"ts": ts, "orig_h": src, "resp_h": dst, "resp_p": port, "proto": "tcp", "conn_state": state}
        for ts, src, dst, port, state in rows
    )


def column(extractor: FeatureExtractor, matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, extractor.feature_names.index(name)]


def test_transform_is_float32_c_contiguous_and_matches_names() -> None:
    frame = baseline_frame()
    extractor = FeatureExtractor().fit(frame)
    matrix = extractor.transform(frame)
    assert matrix.dtype == np.float32
    assert matrix.flags.c_contiguous
    assert matrix.shape == (len(frame), len(extractor.feature_names))
    assert np.isfinite(matrix).all()


def test_heavy_tailed_columns_get_log1p_and_rates_stay() -> None:
    frame = baseline_frame()
    extractor = FeatureExtractor().fit(frame)
    matrix = extractor.transform(frame)
    names = extractor.feature_names
    assert {"log1p(orig_bytes)", "log1p(duration)", "log1p(x_count)", "x_serror_rate"} <= set(names)
    np.testing.assert_allclose(column(extractor, matrix, "log1p(orig_bytes)"), np.log1p(frame["orig_bytes"]), rtol=1e-6)
    np.testing.assert_allclose(column(extractor, matrix, "x_serror_rate"), frame["x_serror_rate"], rtol=1e-6)
    # ts, addresses and packet counts are all NaN here: no features for them.
    assert not any("pkts" in name or name == "ts" for name in names)


def test_unseen_rare_and_missing_categories_go_to_buckets() -> None:
    frame = baseline_frame()
    frame.loc[0, "service"] = "gopher"  # seen once: rarer than min_category_count
    extractor = FeatureExtractor(min_category_count=5).fit(frame)
    assert "service=gopher" not in extractor.feature_names
    scored = frame.head(4).copy()
    scored["service"] = ["never-seen", "gopher", None, "http"]
    scored["proto"] = ["sctp", "tcp", "tcp", "tcp"]
    matrix = extractor.transform(scored)
    other = column(extractor, matrix, f"service={OTHER_TOKEN}")
    np.testing.assert_array_equal(other, [1, 1, 1, 0])
    np.testing.assert_array_equal(column(extractor, matrix, "service=http"), [0, 0, 0, 1])
    np.testing.assert_array_equal(column(extractor, matrix, f"proto={OTHER_TOKEN}"), [1, 0, 0, 0])
    service_block = [i for i, name in enumerate(extractor.feature_names) if name.startswith("service=")]
    np.testing.assert_array_equal(matrix[:, service_block].sum(axis=1), 1)


def test_missing_values_become_zero_with_indicator_where_training_had_gaps() -> None:
    frame = baseline_frame()
    frame.loc[::10, "duration"] = np.nan
    extractor = FeatureExtractor().fit(frame)
    assert "missing(duration)" in extractor.feature_names
    assert "missing(orig_bytes)" not in extractor.feature_names
    scored = frame.head(3).copy()
    scored["orig_bytes"] = [np.nan, np.inf, 10.0]
    matrix = extractor.transform(scored.drop(columns=["x_count"]))
    np.testing.assert_array_equal(column(extractor, matrix, "missing(duration)"), [1, 0, 0])
    np.testing.assert_allclose(column(extractor, matrix, "log1p(orig_bytes)"), [0, 0, np.log1p(10)], rtol=1e-6)
    np.testing.assert_array_equal(column(extractor, matrix, "log1p(x_count)"), [0, 0, 0])


def test_extras_mirroring_canonical_columns_are_dropped() -> None:
    frame = baseline_frame()
    frame["x_src_bytes"] = frame["orig_bytes"]  # how the NSL-KDD reader fills both
    extractor = FeatureExtractor().fit(frame)
    assert not any("x_src_bytes" in name for name in extractor.feature_names)


def test_garbage_values_do_not_raise() -> None:
    frame = baseline_frame().assign(x_comment="n/a", resp_p=443.0)
    extractor = FeatureExtractor().fit(frame)
    assert not any("x_comment" in name for name in extractor.feature_names)  # never a number
    scored = frame.head(3).assign(resp_p=[1e20, -5.0, np.inf], proto=[7, None, "tcp"])
    matrix = extractor.transform(scored)
    np.testing.assert_array_equal(column(extractor, matrix, f"resp_p={OTHER_TOKEN}"), [1, 1, 1])
    assert np.isfinite(matrix).all()


def test_transform_leaves_the_input_untouched() -> None:
    frame = baseline_frame()
    frame.loc[0, "orig_bytes"] = np.inf
    before = frame.copy()
    FeatureExtractor().fit(frame).transform(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_empty_batch_and_unfitted_use() -> None:
    frame = baseline_frame()
    extractor = FeatureExtractor()
    with pytest.raises(RuntimeError, match="not fitted"):
        extractor.transform(frame)
    extractor.fit(frame)
    assert extractor.transform(frame.head(0)).shape == (0, len(extractor.feature_names))
    with pytest.raises(ValueError, match="empty"):
        FeatureExtractor().fit(frame.head(0))


def test_scanning_source_gets_high_distinct_port_count() -> None:
    normal = [(float(t), f"10.0.0.{t % 5}", "10.1.0.1", 443.0, "SF") for t in range(0, 300, 3)]
    scan = [(100.0 + i * 0.05, "10.9.9.9", "10.1.0.2", float(1000 + i), "S0") for i in range(400)]
    frame = zeek_frame(normal + scan)
    extractor = FeatureExtractor(window_seconds=60).fit(zeek_frame(normal))
    matrix = extractor.transform(frame)
    ports = np.expm1(column(extractor, matrix, "log1p(src_60s_distinct_resp_p)"))
    s0_rate = column(extractor, matrix, "src_60s_s0_rate")
    is_scan = (frame["orig_h"] == "10.9.9.9").to_numpy()
    assert ports[~is_scan].max() == pytest.approx(1.0, abs=1e-4)
    assert ports[is_scan].max() == pytest.approx(400, rel=1e-4)
    assert s0_rate[is_scan].min() == 1.0
    assert s0_rate[~is_scan].max() == 0.0
    # The scanned host sees one originator, many connections.
    dst_conns = np.expm1(column(extractor, matrix, "log1p(dst_60s_conns)"))
    assert dst_conns[is_scan].max() == pytest.approx(400, rel=1e-4)


def brute_force_window(frame: pd.DataFrame, window: float) -> pd.DataFrame:
    rows = []
    for i in range(len(frame)):
        ts, src, dst = frame["ts"][i], frame["orig_h"][i], frame["resp_h"][i]
        recent = (frame["ts"] >= ts - window) & (frame["ts"] <= ts)
        by_src = frame[recent & (frame["orig_h"] == src)]
        by_dst = frame[recent & (frame["resp_h"] == dst)]
        rows.append(
            {
                "src_conns": len(by_src),
                "src_s0": (by_src["conn_state"] == "S0").mean(),
                "src_rej": (by_src["conn_state"] == "REJ").mean(),
                "src_ports": by_src["resp_p"].nunique(),
                "src_hosts": by_src["resp_h"].nunique(),
                "dst_conns": len(by_dst),
                "dst_hosts": by_dst["orig_h"].nunique(),
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_window_features_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 150
    frame = zeek_frame(
        list(
            zip(
                np.round(rng.uniform(0, 200, n), 1).tolist(),
                rng.choice(["a", "b", "c"], n).tolist(),
                rng.choice(["x", "y", "z", "w"], n).tolist(),
                rng.choice([22.0, 80.0, 443.0, 8080.0], n).tolist(),
                rng.choice(["SF", "S0", "REJ"], n).tolist(),
                strict=True,
            )
        )
    )
    got = window_traffic_features(frame, 30.0)
    expected = brute_force_window(frame, 30.0)
    for name, reference in [
        ("src_30s_conns", "src_conns"),
        ("src_30s_s0_rate", "src_s0"),
        ("src_30s_rej_rate", "src_rej"),
        ("src_30s_distinct_resp_p", "src_ports"),
        ("src_30s_distinct_resp_h", "src_hosts"),
        ("dst_30s_conns", "dst_conns"),
        ("dst_30s_distinct_orig_h", "dst_hosts"),
    ]:
        np.testing.assert_allclose(got[name], expected[reference], err_msg=name)


def test_window_features_do_not_depend_on_row_order() -> None:
    rng = np.random.default_rng(3)
    rows = [(float(rng.integers(0, 100)), f"h{rng.integers(4)}", "d", float(rng.integers(5)), "SF") for _ in range(80)]
    frame = zeek_frame(rows)
    order = rng.permutation(len(frame))
    shuffled = frame.iloc[order].reset_index(drop=True)
    original = window_traffic_features(frame, 10.0)
    permuted = window_traffic_features(shuffled, 10.0)
    for name, values in original.items():
        np.testing.assert_array_equal(permuted[name], values[order], err_msg=name)


def test_window_features_absent_without_timestamps_or_addresses() -> None:
    extractor = FeatureExtractor().fit(baseline_frame())
    assert not any(name.startswith(("src_", "dst_")) or "_60s_" in name for name in extractor.feature_names)
    no_ts = zeek_frame([(0.0, "a", "b", 80.0, "SF")] * 3).assign(ts=np.nan)
    assert window_traffic_features(no_ts, 60.0) == {}


def test_state_round_trip_is_json_and_reproduces_the_transform() -> None:
    normal = [(float(t), f"10.0.0.{t % 5}", "10.1.0.1", 443.0, "SF") for t in range(0, 300, 3)]
    frame = zeek_frame(normal).assign(service="ssl", orig_bytes=100.0, x_hot=2.0)
    extractor = FeatureExtractor().fit(frame)
    state = json.loads(json.dumps(extractor.to_state()))
    restored = FeatureExtractor.from_state(state)
    assert restored.feature_names == extractor.feature_names
    np.testing.assert_array_equal(restored.transform(frame), extractor.transform(frame))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.update(version=99), "version"),
        (lambda s: s["feature_names"].append("extra"), "feature names"),
        (lambda s: s["numeric"][0].update(transform="sqrt"), "malformed"),
        (lambda s: s.pop("categorical"), "malformed"),
    ],
)
def test_from_state_rejects_foreign_states(edit: object, message: str) -> None:
    state = FeatureExtractor().fit(baseline_frame()).to_state()
    assert callable(edit)
    edit(state)
    with pytest.raises(FeatureSchemaError, match=message):
        FeatureExtractor.from_state(state)
