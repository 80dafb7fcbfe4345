"""Unsupervised anomaly models for flows, trained per tenant on baseline traffic.

:class:`FlowAnomalyDetector` (``_detector``) fuses two detectors (``_scorers``):

* ``knn``: distance from a flow to its nearest baseline prototype (:class:`PrototypeIndex`).
  Features are standardised and projected onto their leading principal components; the
  prototypes are the means of k-means clusters of baseline flows (the flows themselves when
  the baseline is small). The strongest single detector on clean baselines.
* ``iforest``: scikit-learn's IsolationForest, scored by :class:`IsolationPathScorer`. Weaker
  alone, but it keeps the fused score useful when the baseline itself contains some attack
  traffic (real baselines are never clean: internet background scanning alone sees to that),
  where a nearest-neighbour distance collapses because an attack next to its own copies in
  the baseline looks normal.

Each component's raw score is turned into a tail probability against its own distribution on
the training flows (:class:`TailCalibrator`; leave-one-out for the kNN distance: a flow's own
contribution is taken out of its prototype, so a baseline flow is scored as an unseen one
would be). The fused statistic is the smallest tail probability (Tippett's method: a flow is
as anomalous as its most confident detector finds it), mapped through its own training
distribution onto [0, 1]. The alert threshold is a training quantile of that score, frozen
into the model.

Model files (``_file``) are a small container: a magic line, a JSON envelope, JSON metadata
and a pickled payload. The SHA-256 checksum (and HMAC-SHA256 when a key is given) over the
metadata and payload bytes is verified before anything is unpickled.

The measurements behind these choices are in docs/notes/detection.md.
"""

from __future__ import annotations

from securenet.netsec.models._detector import COMPONENTS, FeatureExplanation, FlowAnomalyDetector
from securenet.netsec.models._detector import _Fitted as _Fitted  # model files pickle it under this module
from securenet.netsec.models._file import (
    MODEL_FORMAT_VERSION,
    ModelCorruptError,
    ModelError,
    ModelIncompatibleError,
    ModelOutsideDirError,
    ModelTamperedError,
)
from securenet.netsec.models._scorers import IsolationPathScorer, PrototypeIndex, TailCalibrator

__all__ = [
    "COMPONENTS",
    "MODEL_FORMAT_VERSION",
    "FeatureExplanation",
    "FlowAnomalyDetector",
    "IsolationPathScorer",
    "ModelCorruptError",
    "ModelError",
    "ModelIncompatibleError",
    "ModelOutsideDirError",
    "ModelTamperedError",
    "PrototypeIndex",
    "TailCalibrator",
]
