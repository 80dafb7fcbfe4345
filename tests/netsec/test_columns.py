"""The shared columns and the numpy grouping engine the rules run on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from securenet.netsec.columns import NO_WINDOW, FlowColumns, Groups
from securenet.netsec.flows import flows_to_frame


def test_columns_are_derived_once_and_read_only() -> None:
    frame = flows_to_frame(
        [
            {"ts": 30.0, "orig_h": "10.0.0.2", "resp_p": 22, "conn_state": "S0"},
            {"ts": 90.0, "orig_h": "10.0.0.1", "resp_p": 80, "conn_state": "SF"},
            {"orig_h": "", "resp_p": 22},
        ]
    )
    columns = FlowColumns(frame)

    codes, names = columns.hosts("orig_h")
    assert columns.hosts("orig_h")[0] is codes  # derived once, then the same array
    assert codes.tolist() == [1, 0, -1]  # sorted addresses; "" is missing
    assert names.tolist() == ["10.0.0.1", "10.0.0.2"]
    assert columns.window_keys(60.0).tolist() == [0, 1, NO_WINDOW]
    assert columns.in_states(frozenset({"S0"}), unknown=True).tolist() == [True, False, True]
    ports, width = columns.port_codes()
    assert (ports.tolist(), width) == ([0, 1, 0], 2)
    with pytest.raises(ValueError, match="read-only"):
        codes[0] = 5


def test_missing_columns_read_as_missing() -> None:
    columns = FlowColumns(pd.DataFrame(index=pd.RangeIndex(2)))
    assert np.isnan(columns.numeric("ts")).all()
    assert columns.text("proto").tolist() == [None, None]
    assert columns.hosts("orig_h")[0].tolist() == [-1, -1]
    windows, width = columns.window_codes(10.0)
    assert (windows.tolist(), width) == ([0, 0], 1)


@pytest.mark.parametrize("widths", [pytest.param((5, 7), id="packed"), pytest.param((2**40, 2**40), id="renumbered")])
def test_numpy_groups_agree_with_pandas_groupby(widths: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 500), rng.integers(0, 7, 500)
    value = rng.integers(-1, 9, 500)  # -1 is not counted by distinct()
    weight = rng.uniform(0, 10, 500)  # fractional: summed by pandas, so sums match exactly
    frame = pd.DataFrame({"a": a, "b": b, "value": np.where(value >= 0, value, np.nan), "weight": weight})
    by_key = frame.groupby(["a", "b"], sort=False)

    groups = Groups.of((a, widths[0]), (b, widths[1]))

    np.testing.assert_array_equal(groups.ids, by_key.ngroup().to_numpy())
    np.testing.assert_array_equal(groups.sizes, by_key.size().to_numpy())
    np.testing.assert_array_equal(groups.distinct(value), by_key["value"].nunique().to_numpy())
    np.testing.assert_array_equal(groups.sums(weight), by_key["weight"].sum().to_numpy())
    np.testing.assert_array_equal(groups.sums(value >= 4), by_key["value"].agg(lambda v: (v >= 4).sum()).to_numpy())
    selected = groups.sizes > 15
    ordered = groups.sorted_by((a, b), selected)
    expected = [key for key, rows in frame.groupby(["a", "b"]).groups.items() if len(rows) > 15]
    assert [(int(a[groups.first[g]]), int(b[groups.first[g]])) for g in ordered] == expected
    for g in ordered:
        np.testing.assert_array_equal(groups.members(g), np.flatnonzero(groups.ids == g))
