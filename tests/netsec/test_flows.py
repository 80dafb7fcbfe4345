"""The canonical batch: normalised in one place, and recognised by its shape alone."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from securenet.netsec.flows import (
    FLOW_COLUMNS,
    FLOW_DTYPES,
    empty_frame,
    flows_to_frame,
    normalize_frame,
    require_canonical,
    typed_frame,
)
from securenet.netsec.service import ThreatDetectionService

RECORDS = [
    {"ts": 1.0, "orig_h": "10.0.0.1", "resp_h": "10.0.0.2", "resp_p": 22, "proto": "TCP", "x_hot": 3},
    {"ts": 2.0, "orig_h": None, "resp_h": "10.0.0.2", "resp_p": None, "conn_state": float("nan")},
]


def test_normalised_batches_have_the_canonical_shape_and_no_hidden_marks() -> None:
    frame = flows_to_frame(RECORDS)

    assert require_canonical(frame) is frame
    assert list(frame.columns) == [*FLOW_COLUMNS, "x_hot"]
    assert [str(t) for t in frame.dtypes] == [*FLOW_DTYPES.values(), "float64"]
    assert frame["conn_state"].tolist() == [None, None]  # NaN-like text becomes None
    assert frame.attrs == {}  # canonical is a shape, not a flag a derived frame could inherit
    assert require_canonical(empty_frame()).empty


def test_typed_frame_matches_normalize_frame_on_typed_values() -> None:
    table = pd.DataFrame(
        {
            "orig_h": pd.Series(["10.0.0.1", None], dtype=object),  # as the readers build text columns
            "resp_p": np.array([22.0, np.nan]),
            "x_hot": np.array([3.0, 0.0]),
        }
    )
    pd.testing.assert_frame_equal(typed_frame(table), normalize_frame(table))


MISSHAPEN: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "raw records": (lambda f: pd.DataFrame.from_records(RECORDS), "columns must start with"),
    "integer ports": (lambda f: f.assign(resp_p=f["resp_p"].fillna(0).astype("int64")), "'resp_p' is int64"),
    "string dtype": (lambda f: f.assign(proto=f["proto"].astype("string")), "'proto' is string"),
    "row subset": (lambda f: f.iloc[1:], "RangeIndex from 0"),
    "not an extra": (lambda f: f.assign(note=1.0), "x_ extras"),
}


@pytest.mark.parametrize("misshape", MISSHAPEN.values(), ids=MISSHAPEN.keys())
def test_service_requires_a_canonical_batch(misshape: tuple[Callable[[pd.DataFrame], pd.DataFrame], str]) -> None:
    change, problem = misshape
    frame = change(flows_to_frame(RECORDS))

    with pytest.raises(ValueError, match="not a canonical flow batch") as error:
        ThreatDetectionService().analyze(frame, "acme")
    assert problem in str(error.value)
    # Normalising it where it is made is all it takes.
    assert len(ThreatDetectionService().analyze(normalize_frame(frame.reset_index(drop=True)), "acme").verdicts) == len(
        frame
    )


def test_service_takes_records_and_canonical_frames_alike() -> None:
    by_records = ThreatDetectionService().analyze(RECORDS, "acme").verdicts
    by_frame = ThreatDetectionService().analyze(flows_to_frame(RECORDS), "acme").verdicts

    np.testing.assert_array_equal(by_records.score, by_frame.score)
    assert list(by_records.level) == list(by_frame.level)
