"""What a flow's label means: the one predicate that picks normal traffic for ``--normal-only``.

Datasets name normal traffic differently: NSL-KDD says ``normal``, IoT-23 ``benign``, the
Stratosphere captures and CIC-IDS ``Benign`` or ``BENIGN``. Other labels, and the ones that mean
"not labelled" (Stratosphere's ``Background`` and ``Unknown``), are not normal.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["NORMAL_LABELS", "is_normal"]

#: Labels of normal traffic, compared case-insensitively and without surrounding blanks.
NORMAL_LABELS: Final = frozenset({"normal", "benign"})


def is_normal(labels: pd.Series) -> npt.NDArray[np.bool_]:
    """Which labels mark normal traffic; a missing label (None, NaN) does not."""
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)
    # Once per distinct label, not per row: a labelled log repeats a handful of labels.
    normal = [isinstance(label, str) and label.strip().casefold() in NORMAL_LABELS for label in uniques]
    lookup = np.array([*normal, False], dtype=bool)  # code -1 (missing) picks the trailing False
    result: npt.NDArray[np.bool_] = lookup[codes]
    return result
