"""The normal-traffic predicate behind train --normal-only and /v1/models:train?normal_only=true."""

from __future__ import annotations

import numpy as np
import pandas as pd

from securenet.netsec.labels import NORMAL_LABELS, is_normal


def test_normal_and_benign_in_any_case_and_with_blanks_are_normal() -> None:
    normal = ["normal", "Benign", "benign", " BENIGN ", "Normal\t"]
    other = ["Malicious", "Background", "Unknown", "neptune", "benign-ish", "not normal", "", None, np.nan]
    labels = pd.Series([*normal, *other], dtype=object)

    mask = is_normal(labels)

    assert mask.dtype == np.bool_
    assert mask.tolist() == [True] * len(normal) + [False] * len(other)
    assert sorted(NORMAL_LABELS) == ["benign", "normal"]


def test_an_empty_series_has_no_normal_rows() -> None:
    assert is_normal(pd.Series([], dtype=object)).tolist() == []
