"""Unsupervised anomaly models for flows, trained per tenant on baseline traffic.

:class:`FlowAnomalyDetector` fuses two detectors, each measured on an NSL-KDD
validation split (see ``benchmarks/detection_quality.py``):

* ``knn``: distance from a flow to its nearest baseline prototype. Features are
  standardised and projected onto their leading principal components; the prototypes
  are the means of k-means clusters of baseline flows (the flows themselves when the
  baseline is small). The strongest single detector on clean baselines. Against 512
  prototypes in 16 dimensions a flow costs a slice of one float32 matrix product. With
  1,024 prototypes that measured about 70 times faster in ``benchmarks/detection_throughput.py``
  than the exact search over up to 20,000 baseline flows in every feature it replaced, for an
  NSL-KDD ROC-AUC of 0.9958 instead of 0.9965; 512 halve the cost again for the same quality
  (0.9960; over seeds 0-2 a mean of 0.9955 against 0.9960), 256 lose more (0.9949).
* ``iforest``: scikit-learn's IsolationForest. Weaker alone, but it keeps the fused
  score useful when the baseline itself contains some attack traffic (real baselines
  are never clean: internet background scanning alone sees to that), where a
  nearest-neighbour distance collapses because an attack next to its own copies in the
  baseline looks normal.

Each component's raw score is turned into a tail probability against its own
distribution on the training flows (leave-one-out for the kNN distance: a flow's own
contribution is taken out of its prototype, so a baseline flow is scored as an unseen one
would be). The fused statistic is the smallest tail probability (Tippett's method: a flow
is as anomalous as its most confident detector finds it), mapped through its own training
distribution onto [0, 1]. The alert threshold is a training quantile of that score, frozen into the
model.

Model files are a small container: a magic line, a JSON envelope, JSON metadata and a
pickled payload. The SHA-256 checksum (and HMAC-SHA256 when a key is given) over the
metadata and payload bytes is verified before anything is unpickled.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import os
import pickle
import platform
import struct
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import sklearn
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from securenet.netsec.features import FeatureExtractor, FeatureSchemaError

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

#: Version of the model file container and payload layout; bump on any change.
MODEL_FORMAT_VERSION = 2
#: Detectors :class:`FlowAnomalyDetector` can fuse.
COMPONENTS: tuple[str, ...] = ("knn", "iforest")

_MAGIC = b"SNETMODEL\n"
_LENGTH = struct.Struct(">I")
_MAX_ENVELOPE_BYTES = 64 * 1024
_KIND = "securenet.netsec.FlowAnomalyDetector"
# Standard-deviation floor for kNN scaling. A rare one-hot column has a tiny standard
# deviation; dividing by it would let that single column dominate every distance.
_SCALE_FLOOR = 0.5
_MIN_TRAINING_ROWS = 20
_MIN_KEY_BYTES = 16
# Query rows per block of the prototype distance matrix: 2048 x 512 float32 is 4 MiB,
# which stays in cache between the product that writes it and the minimum that reads it.
_DISTANCE_BLOCK_ROWS = 2048

FloatArray = npt.NDArray[np.float64]


class ModelError(Exception):
    """A model file that must not be used. Subclasses say why."""


class ModelCorruptError(ModelError):
    """The file is not a well-formed model file (bad header, truncated, unreadable)."""


class ModelIncompatibleError(ModelError):
    """A well-formed model this code cannot use (format version, feature schema, libraries)."""


class ModelTamperedError(ModelError):
    """The checksum or HMAC does not match the content: the file was changed."""


class ModelOutsideDirError(ModelError):
    """The path resolves outside the model directory."""


class TailCalibrator:
    """Empirical CDF of training scores, with an exponential tail beyond the largest.

    Inside the training range the CDF is interpolated between quantile knots. Above the
    largest training score, -log(1 - cdf) keeps growing linearly, in units of the spread
    of the top 1% of training scores, so a score beyond anything seen in training keeps
    rising with its distance (until float64 rounds it to 1) instead of stopping at the
    largest training level.
    """

    def __init__(self, knots: FloatArray, levels: FloatArray, tail_scale: float) -> None:
        if knots.ndim != 1 or knots.shape != levels.shape or knots.size == 0 or tail_scale <= 0:
            raise ValueError("calibrator needs matching non-empty knots and levels and a positive tail scale")
        self.knots = knots
        self.levels = levels
        self.tail_scale = tail_scale

    @classmethod
    def fit(cls, scores: FloatArray, max_knots: int = 2048) -> TailCalibrator:
        ordered = np.sort(np.asarray(scores, dtype=np.float64))
        n = ordered.size
        if n == 0 or not np.isfinite(ordered).all():
            raise ValueError("calibration scores must be finite and non-empty")
        if n <= max_knots:
            positions = np.arange(n)
        else:
            # Half the knots spread evenly, half packed towards the top, where the
            # threshold lives and resolution matters most.
            even = np.linspace(0, n - 1, max_knots // 2)
            top = (n - 1) - np.geomspace(1, n / 2, max_knots // 2) + 1
            positions = np.unique(np.round(np.concatenate([even, top])).astype(np.int64))
        values = ordered[positions]
        levels = (positions + 1) / (n + 1)
        # Tied scores share the highest level among them, as an ECDF does.
        knots, inverse = np.unique(values, return_inverse=True)
        knot_levels = np.zeros(knots.size)
        np.maximum.at(knot_levels, inverse, levels)
        spread = ordered[-1] - np.quantile(ordered, 0.99)
        if spread <= 0:
            spread = ordered[-1] - np.median(ordered)
        return cls(knots, knot_levels, float(spread) if spread > 0 else 1.0)

    def neg_log_tail(self, scores: FloatArray) -> FloatArray:
        """-log(1 - cdf(score)): 0 for typical scores, large for scores rare in training."""
        inside = np.interp(scores, self.knots, self.levels)
        beyond = (scores - self.knots[-1]) / self.tail_scale
        top = -math.log1p(-float(self.levels[-1]))
        result: FloatArray = np.where(beyond > 0, top + np.maximum(beyond, 0.0), -np.log1p(-inside))
        return result

    def cdf(self, scores: FloatArray) -> FloatArray:
        result: FloatArray = -np.expm1(-self.neg_log_tail(scores))
        return result


@dataclass(frozen=True)
class FeatureExplanation:
    """Per flow, the ``top_k`` features that set it furthest apart from its baseline.

    ``deviations`` are signed, in units of the training standard deviation (floored):
    positive means the flow's value is higher than the reference baseline flow's.
    """

    features: npt.NDArray[np.str_]
    deviations: FloatArray

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def rows(self) -> list[list[tuple[str, float]]]:
        """The explanation as plain Python lists, e.g. for a JSON response."""
        return [
            list(zip(names, values, strict=True))
            for names, values in zip(self.features.tolist(), self.deviations.tolist(), strict=True)
        ]

    def texts(self) -> list[str]:
        """Per flow, the sentence a verdict shows, e.g. ``unusual resp_p=1900 +1.4sd, duration -0.5sd``."""

        def part(name: str, value: float) -> str:
            return f"{name} {'+' if value >= 0 else '-'}{abs(value):.1f}sd"

        return [
            "unusual " + ", ".join(map(part, names, values))
            for names, values in zip(self.features.tolist(), self.deviations.tolist(), strict=True)
        ]


def _average_path_length(n_samples: npt.NDArray[np.int64] | npt.NDArray[np.float64]) -> FloatArray:
    """Expected path length of an unsuccessful BST search among ``n`` points (Liu et al.), as sklearn."""
    n = np.asarray(n_samples, dtype=np.float64)
    result = np.zeros(n.shape)
    result[n == 2] = 1.0
    big = n > 2
    result[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return result


class IsolationPathScorer:
    """``-IsolationForest.score_samples`` of a fitted forest, computed the same way but leaner.

    scikit-learn credits a flow that ends in leaf ``l`` of a tree with ``depth(l) +
    c(n_samples(l)) - 1``. Those credits are fixed once the forest is fitted, so they are
    tabulated per tree here, and scoring is one ``Tree.apply`` and one gather per tree on
    the float32 matrix, without re-validating the input for every tree.

    A tree walk is bound by mispredicted branches, so rows are walked in an order where
    neighbours tend to take the same branches: sorted by the features the forests split on
    most near their roots (:attr:`sort_columns`). On the throughput benchmark's batches that
    made the walks ~20% faster for ~3% spent sorting; the scores are the same, in input order.
    """

    #: Split depth up to which features are counted, and how many of the most used sort rows.
    SORT_DEPTH = 4
    SORT_KEYS = 6

    def __init__(self, forest: IsolationForest, block_rows: int = 8192) -> None:
        self.trees = [estimator.tree_ for estimator in forest.estimators_]
        n_features = int(forest.n_features_in_)
        self.features: list[npt.NDArray[np.intp] | None] = [
            None if len(f) == n_features and np.array_equal(f, np.arange(n_features)) else np.asarray(f, np.intp)
            for f in forest.estimators_features_
        ]
        depths = [tree.compute_node_depths() for tree in self.trees]
        self.credits = [
            depth.astype(np.float64) + _average_path_length(tree.n_node_samples) - 1.0
            for tree, depth in zip(self.trees, depths, strict=True)
        ]
        self.denominator = len(self.trees) * float(_average_path_length(np.array([forest.max_samples_]))[0])
        self.block_rows = block_rows
        self.sort_columns = self._busiest_features(n_features, depths)

    def _busiest_features(self, n_features: int, depths: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.intp]:
        """The input columns split on most often at depth <= SORT_DEPTH, most used first."""
        uses = np.zeros(n_features, dtype=np.int64)
        for tree, columns, depth in zip(self.trees, self.features, depths, strict=True):
            near_root = (depth <= self.SORT_DEPTH) & (tree.children_left >= 0)
            used = tree.feature[near_root]
            np.add.at(uses, used if columns is None else columns[used], 1)
        ranked = np.argsort(-uses, kind="stable")  # ties: the lower column first, deterministically
        result: npt.NDArray[np.intp] = ranked[: min(self.SORT_KEYS, int((uses > 0).sum()))]
        return result

    def anomaly(self, features: npt.NDArray[np.float32]) -> FloatArray:
        """2 ** (-mean path length / c(max_samples)): higher is more anomalous."""
        matrix = np.ascontiguousarray(features, dtype=np.float32)
        if self.denominator == 0:  # a forest of single-sample trees, as sklearn
            return np.ones(len(matrix))
        order = np.lexsort(matrix[:, self.sort_columns].T[::-1]) if self.sort_columns.size else None
        walked = matrix if order is None else matrix[order]
        depths = np.zeros(len(matrix))
        for start in range(0, len(walked), self.block_rows):
            block = walked[start : start + self.block_rows]
            total = depths[start : start + self.block_rows]
            for tree, columns, credit in zip(self.trees, self.features, self.credits, strict=True):
                subset = block if columns is None else np.ascontiguousarray(block[:, columns])
                total += credit[tree.apply(subset)]
        if order is not None:
            depths[order] = depths.copy()
        result: FloatArray = np.exp2(-depths / self.denominator)
        return result


class PrototypeIndex:
    """Distances from flows to the nearest of a few baseline prototypes, in a PCA space.

    ``projection``/``offset`` map raw features to the leading principal components of
    the standardised baseline in one affine step, plus a trailing constant 1 (see
    :func:`_nearest`); ``prototypes`` are points in that space and ``reference`` the same
    points in standardised feature space (what :meth:`FlowAnomalyDetector.explain`
    compares a flow with). Distances are computed in float32 as ``|z|^2 - 2 z.p + |p|^2``
    in blocks, so each block is one matrix product.
    """

    def __init__(
        self,
        projection: npt.NDArray[np.float32],
        offset: npt.NDArray[np.float32],
        prototypes: npt.NDArray[np.float32],
        reference: FloatArray,
    ) -> None:
        self.projection = projection
        self.offset = offset
        self.prototypes = prototypes
        self.reference = reference

    @classmethod
    def fit(
        cls,
        scaled: FloatArray,
        center: FloatArray,
        scale: FloatArray,
        *,
        n_components: int,
        n_prototypes: int,
        random_state: int,
    ) -> tuple[PrototypeIndex, FloatArray]:
        """Fit on standardised baseline rows; also return each row's leave-one-out distance."""
        n, n_features = scaled.shape
        components = min(n_components, n_features, n)
        pca = PCA(n_components=components, svd_solver="full").fit(scaled)
        basis = np.asarray(pca.components_, dtype=np.float64)  # (components, n_features)
        mean = np.asarray(pca.mean_, dtype=np.float64)
        points = (scaled - mean) @ basis.T
        if n > n_prototypes:
            with warnings.catch_warnings():
                # Duplicate baseline rows can leave fewer distinct clusters than asked for;
                # empty clusters are dropped below, so that is not worth a warning.
                warnings.simplefilter("ignore", ConvergenceWarning)
                kmeans = MiniBatchKMeans(
                    n_clusters=n_prototypes, n_init=1, batch_size=4096, random_state=random_state
                ).fit(points)
            labels = _nearest(_with_ones(points), np.asarray(kmeans.cluster_centers_, dtype=np.float64))[1]
        else:
            labels = np.arange(n)
        counts = np.bincount(labels)
        used = np.flatnonzero(counts)
        labels = np.searchsorted(used, labels)
        counts = counts[used]
        # Prototypes are exact cluster means, so taking a row out of its own cluster has a
        # closed form: its distance to the mean of the others is m / (m - 1) times its
        # distance to the mean of all m.
        prototypes = np.zeros((used.size, components))
        np.add.at(prototypes, labels, points)
        prototypes /= counts[:, None]
        reference = np.zeros((used.size, n_features))
        np.add.at(reference, labels, scaled)
        reference /= counts[:, None]
        own = np.sqrt(((points - prototypes[labels]) ** 2).sum(axis=1))
        members = counts[labels].astype(np.float64)
        left_out = np.where(members > 1, own * members / np.maximum(members - 1.0, 1.0), np.inf)
        other = _nearest(_with_ones(points), prototypes, exclude=labels)[0]
        projection = np.zeros((n_features, components + 1))
        projection[:, :components] = basis.T / scale[:, None]
        offset = np.append(-(center / scale + mean) @ basis.T, 1.0)
        index = cls(projection.astype(np.float32), offset.astype(np.float32), prototypes.astype(np.float32), reference)
        return index, np.minimum(left_out, other)

    def project(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Flows in the prototypes' space, each with a trailing 1."""
        projected: npt.NDArray[np.float32] = features.astype(np.float32, copy=False) @ self.projection
        projected += self.offset
        return projected

    def distances(self, features: npt.NDArray[np.float32]) -> FloatArray:
        """Distance from each flow to its nearest prototype."""
        with _single_threaded_blas():
            return _nearest(self.project(features), self.prototypes, with_index=False)[0]

    def nearest(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
        """Index of each flow's nearest prototype (a row of :attr:`reference`)."""
        with _single_threaded_blas():
            return _nearest(self.project(features), self.prototypes)[1]


@functools.cache
def _blas_threads() -> Any:
    return ThreadpoolController()


def _single_threaded_blas() -> AbstractContextManager[Any]:
    """Run BLAS on the calling thread alone while the block is active.

    The prototype products are small and memory-bound. Measured in the analyze pipeline
    on two cores, waking OpenBLAS's worker threads for each of them cost more than the
    products themselves (2.5 to 6 us per flow against 1.2 us single-threaded), because the
    workers fall asleep during the model's other, non-BLAS, steps. The limit is process
    wide while it lasts (as threadpoolctl's always is).
    """
    limit: AbstractContextManager[Any] = _blas_threads().limit(limits=1, user_api="blas")
    return limit


def _with_ones(points: FloatArray) -> FloatArray:
    return np.hstack([points, np.ones((len(points), 1))])


def _nearest(
    points: npt.NDArray[Any],
    prototypes: npt.NDArray[Any],
    *,
    exclude: npt.NDArray[np.intp] | None = None,
    with_index: bool = True,
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Distance to, and index of, the nearest prototype of each point, block by block.

    Each point carries a trailing 1, so that one matrix product against ``[-2 p; |p|^2]``
    gives ``|p|^2 - 2 z.p`` for every prototype with no extra pass over the block.
    ``exclude`` names one prototype per point that does not count (leave-one-out). The
    dtype of ``points`` sets the precision of the matrix products.
    """
    n = len(points)
    dtype = points.dtype
    dims = prototypes.shape[1]
    weights = np.empty((dims + 1, len(prototypes)), dtype=dtype)
    weights[:dims] = -2.0 * prototypes.T
    weights[dims] = (prototypes.astype(np.float64) ** 2).sum(axis=1)
    distances = np.empty(n)
    index = np.zeros(n if with_index else 0, dtype=np.intp)
    block = np.empty((min(n, _DISTANCE_BLOCK_ROWS), len(prototypes)), dtype=dtype)
    for start in range(0, n, _DISTANCE_BLOCK_ROWS):
        rows = points[start : start + _DISTANCE_BLOCK_ROWS]
        products = block[: len(rows)]
        np.matmul(rows, weights, out=products)
        if exclude is not None:
            products[np.arange(len(rows)), exclude[start : start + len(rows)]] = np.inf
        if with_index:
            nearest = products.argmin(axis=1)
            index[start : start + len(rows)] = nearest
            best = products[np.arange(len(rows)), nearest]
        else:
            best = products.min(axis=1)
        # |z|^2 is the same for every prototype, so it is added after the minimum.
        squared = best.astype(np.float64) + (rows[:, :dims].astype(np.float64) ** 2).sum(axis=1)
        distances[start : start + len(rows)] = np.sqrt(np.maximum(squared, 0.0))
    return distances, index


@dataclass
class _Fitted:
    """Everything :class:`FlowAnomalyDetector` learns besides the JSON metadata (pickled)."""

    center: FloatArray
    scale: FloatArray
    #: The kNN prototypes; also the reference flows :meth:`explain` compares with.
    knn: PrototypeIndex | None
    iforest: IsolationForest | None
    component_calibrators: dict[str, TailCalibrator]
    fused_calibrator: TailCalibrator


class FlowAnomalyDetector:
    """kNN-distance + IsolationForest ensemble over flow features, one per tenant.

    ``contamination`` is the share of baseline flows allowed at or above the frozen
    threshold, i.e. the expected false-positive rate on traffic like the baseline.
    ``max_reference_rows`` caps the baseline rows (a seeded subsample) that the kNN
    prototypes are learned from and that calibrate the scores; ``n_prototypes`` and
    ``n_components`` bound the kNN search, and so its cost per flow, whatever the
    baseline's size. ``batch_size`` rows go to each model call.
    """

    def __init__(
        self,
        *,
        components: Sequence[str] = COMPONENTS,
        contamination: float = 0.01,
        n_estimators: int = 200,
        max_samples: int = 1024,
        max_reference_rows: int = 20_000,
        n_prototypes: int = 512,
        n_components: int = 16,
        batch_size: int = 8192,
        random_state: int = 0,
        extractor: FeatureExtractor | None = None,
    ) -> None:
        chosen = tuple(dict.fromkeys(components))
        if not chosen or any(c not in COMPONENTS for c in chosen):
            raise ValueError(f"components must be a non-empty subset of {COMPONENTS}, got {components!r}")
        if not 0.0 < contamination < 0.5:
            raise ValueError("contamination must be in (0, 0.5)")
        if min(n_estimators, max_samples, max_reference_rows, n_prototypes, n_components, batch_size) < 1:
            raise ValueError(
                "n_estimators, max_samples, max_reference_rows, n_prototypes, n_components and batch_size "
                "must be positive"
            )
        self.components = chosen
        self.contamination = float(contamination)
        self.n_estimators = int(n_estimators)
        self.max_samples = int(max_samples)
        self.max_reference_rows = int(max_reference_rows)
        self.n_prototypes = int(n_prototypes)
        self.n_components = int(n_components)
        self.batch_size = int(batch_size)
        self.random_state = int(random_state)
        self.extractor = extractor if extractor is not None else FeatureExtractor()
        self.threshold: float = math.nan
        self.n_training_rows = 0
        self.created_at: str | None = None
        self._fitted: _Fitted | None = None
        self._paths: IsolationPathScorer | None = None

    # -- training --------------------------------------------------------------------

    def fit(self, frame: pd.DataFrame) -> Self:
        """Learn the baseline from flows assumed (mostly) benign. Never uses labels."""
        if len(frame) < _MIN_TRAINING_ROWS:
            raise ValueError(f"need at least {_MIN_TRAINING_ROWS} baseline flows, got {len(frame)}")
        features = self.extractor.fit_transform(frame)
        rng = np.random.default_rng(self.random_state)
        data = features.astype(np.float64)
        center = data.mean(axis=0)
        scale = np.maximum(data.std(axis=0), _SCALE_FLOOR)
        # Calibration scores should be what an unseen baseline flow would get. The kNN
        # reference rows are scored leave-one-out (in-sample, a flow would be next to its
        # own contribution); IsolationForest's in-sample scores are close enough, as each
        # tree sees only max_samples rows (on NSL-KDD the 1% target gave 0.9% on held-out
        # normals).
        n = len(features)
        if n > self.max_reference_rows:
            reference = np.sort(rng.choice(n, self.max_reference_rows, replace=False))
        else:
            reference = np.arange(n)
        raw: dict[str, FloatArray] = {}
        knn: PrototypeIndex | None = None
        iforest: IsolationForest | None = None
        if "knn" in self.components:
            knn, raw["knn"] = PrototypeIndex.fit(
                (data[reference] - center) / scale,
                center,
                scale,
                n_components=self.n_components,
                n_prototypes=self.n_prototypes,
                random_state=self.random_state,
            )
        if "iforest" in self.components:
            iforest = IsolationForest(
                n_estimators=self.n_estimators,
                max_samples=min(self.max_samples, n),
                random_state=int(rng.integers(2**31 - 1)),
            ).fit(features)
            paths = IsolationPathScorer(iforest)
            raw["iforest"] = self._batched(features[reference], paths.anomaly)
        calibrators = {name: TailCalibrator.fit(scores) for name, scores in raw.items()}
        fused = np.max([calibrators[c].neg_log_tail(raw[c]) for c in self.components], axis=0)
        fused_calibrator = TailCalibrator.fit(fused)
        self._fitted = _Fitted(center, scale, knn, iforest, calibrators, fused_calibrator)
        self._paths = None
        self.threshold = float(np.quantile(fused_calibrator.cdf(fused), 1.0 - self.contamination))
        self.n_training_rows = n
        self.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        return self

    # -- scoring ---------------------------------------------------------------------

    @property
    def feature_names(self) -> list[str]:
        return self.extractor.feature_names

    def transform(self, frame: pd.DataFrame) -> npt.NDArray[np.float32]:
        """The feature matrix :meth:`score_features` and :meth:`explain_features` take.

        Window features are computed over the whole ``frame``: build the matrix once per
        batch and select rows from it, rather than transforming a subset of the flows.
        """
        self._require_fitted()
        return self.extractor.transform(frame)

    def score(self, frame: pd.DataFrame) -> FloatArray:
        """Anomaly score per flow in [0, 1]; higher is more anomalous."""
        return self.score_features(self.transform(frame))

    def score_features(self, features: npt.NDArray[np.float32]) -> FloatArray:
        """:meth:`score` of a matrix from :meth:`transform`."""
        fitted = self._require_fitted()
        fused = np.zeros(len(features))
        for name in self.components:
            scorer = functools.partial(self._component_score, fitted, name)
            # The forest takes the whole batch: it orders the rows first, then walks them in blocks.
            raw = scorer(features) if name == "iforest" else self._batched(features, scorer)
            fused = np.maximum(fused, fitted.component_calibrators[name].neg_log_tail(raw))
        return fitted.fused_calibrator.cdf(fused)

    def predict(self, frame: pd.DataFrame) -> npt.NDArray[np.bool_]:
        """True for flows scoring at or above the threshold frozen at training time."""
        result: npt.NDArray[np.bool_] = self.score(frame) >= self.threshold
        return result

    def explain(self, frame: pd.DataFrame, top_k: int = 3) -> FeatureExplanation:
        """The features in which each flow differs most from its nearest baseline prototype.

        The prototype is the one the kNN distance was measured to, compared here in every
        standardised feature (not only the principal components the distance uses);
        without a kNN component the reference is the training mean.
        """
        return self.explain_features(self.transform(frame), top_k)

    def explain_features(self, features: npt.NDArray[np.float32], top_k: int = 3) -> FeatureExplanation:
        """:meth:`explain` of rows of a matrix from :meth:`transform`."""
        fitted = self._require_fitted()
        names = np.asarray(self.feature_names, dtype=np.str_)
        # A category mismatch moves two one-hot columns: the flow's own category (+) and
        # the reference's (-). Ranking only the + side names the category once.
        one_hot = self.extractor.one_hot_mask
        k = max(0, min(int(top_k), names.size))
        deviations = np.empty((len(features), k))
        indices = np.empty((len(features), k), dtype=np.int64)
        for start, chunk in self._chunks(features):
            scaled = (chunk.astype(np.float64) - fitted.center) / fitted.scale
            if fitted.knn is not None:
                scaled -= fitted.knn.reference[fitted.knn.nearest(chunk)]
            difference = scaled
            weight = np.where(one_hot & (difference < 0), 0.0, np.abs(difference))
            top = np.argsort(-weight, axis=1, kind="stable")[:, :k]
            stop = start + len(chunk)
            indices[start:stop] = top
            deviations[start:stop] = np.take_along_axis(difference, top, axis=1)
        return FeatureExplanation(features=names[indices], deviations=deviations)

    def _component_score(self, fitted: _Fitted, name: str, features: npt.NDArray[np.float32]) -> FloatArray:
        if name == "knn" and fitted.knn is not None:
            return fitted.knn.distances(features)
        if name == "iforest" and fitted.iforest is not None:
            if self._paths is None:
                self._paths = IsolationPathScorer(fitted.iforest, block_rows=self.batch_size)
            return self._paths.anomaly(features)
        raise ModelIncompatibleError(f"model has no fitted {name!r} component")

    def _chunks(self, features: npt.NDArray[np.float32]) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
        for start in range(0, len(features), self.batch_size):
            yield start, features[start : start + self.batch_size]

    def _batched(
        self, features: npt.NDArray[np.float32], scorer: Callable[[npt.NDArray[np.float32]], Any]
    ) -> FloatArray:
        """Run ``scorer`` on micro-batches of ``batch_size`` rows and concatenate."""
        parts = [np.asarray(scorer(chunk), dtype=np.float64) for _, chunk in self._chunks(features)]
        return np.concatenate(parts) if parts else np.zeros(0)

    def _require_fitted(self) -> _Fitted:
        if self._fitted is None:
            raise RuntimeError("FlowAnomalyDetector is not fitted; call fit() or load()")
        return self._fitted

    # -- persistence -----------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """What a model file records about this model, readable without unpickling."""
        self._require_fitted()
        return {
            "kind": _KIND,
            "components": list(self.components),
            "params": {
                "contamination": self.contamination,
                "n_estimators": self.n_estimators,
                "max_samples": self.max_samples,
                "max_reference_rows": self.max_reference_rows,
                "n_prototypes": self.n_prototypes,
                "n_components": self.n_components,
                "batch_size": self.batch_size,
                "random_state": self.random_state,
            },
            "threshold": self.threshold,
            "n_training_rows": self.n_training_rows,
            "feature_schema": {"names": self.feature_names, "extractor": self.extractor.to_state()},
            "libraries": _library_versions(),
            "created_at": self.created_at,
        }

    def save(self, path: str | os.PathLike[str], key: bytes | None = None) -> None:
        """Write the model file atomically; sign it with HMAC-SHA256 when ``key`` is given."""
        fitted = self._require_fitted()
        _check_key(key)
        metadata = json.dumps(self.metadata(), sort_keys=True, allow_nan=False).encode()
        payload = pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL)
        signed = _signed_content(metadata, payload)
        envelope = {
            "format_version": MODEL_FORMAT_VERSION,
            "metadata_length": len(metadata),
            "payload_length": len(payload),
            "sha256": hashlib.sha256(signed).hexdigest(),
            "hmac_sha256": hmac.new(key, signed, hashlib.sha256).hexdigest() if key else None,
        }
        header = json.dumps(envelope, sort_keys=True).encode()
        target = Path(path)
        # Write beside the target and rename, so a reader never sees a half-written model.
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(_MAGIC + _LENGTH.pack(len(header)) + header + metadata + payload)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], model_dir: str | os.PathLike[str], *, key: bytes | None = None
    ) -> FlowAnomalyDetector:
        """Read a model file from inside ``model_dir``, verifying it before unpickling.

        Relative paths are taken relative to ``model_dir``. With ``key``, the file must
        carry a valid HMAC made with that key; without, only the checksum is verified,
        which catches corruption but not a deliberate rewrite.
        """
        _check_key(key)
        resolved = _resolve_inside(Path(path), Path(model_dir))
        metadata, payload = _read_verified(resolved, key)
        extractor = _extractor_from(metadata)
        _check_libraries(metadata)
        try:
            detector = cls(components=metadata["components"], extractor=extractor, **metadata["params"])
            detector.threshold = float(metadata["threshold"])
            detector.n_training_rows = int(metadata["n_training_rows"])
            detector.created_at = str(metadata["created_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelIncompatibleError(f"{resolved.name}: unusable model metadata: {exc}") from exc
        fitted = _unpickle(payload)
        if fitted.center.shape != (extractor.n_features,):
            raise ModelIncompatibleError(
                f"{resolved.name}: model was fitted on {fitted.center.shape[0]} features, "
                f"its schema has {extractor.n_features}"
            )
        if set(fitted.component_calibrators) != set(detector.components):
            raise ModelIncompatibleError(f"{resolved.name}: payload components do not match the metadata")
        detector._fitted = fitted
        return detector


def _library_versions() -> dict[str, str]:
    return {"sklearn": sklearn.__version__, "numpy": np.__version__, "python": platform.python_version()}


def _check_key(key: bytes | None) -> None:
    if key is not None and (not isinstance(key, bytes) or len(key) < _MIN_KEY_BYTES):
        raise ValueError(f"an HMAC key must be at least {_MIN_KEY_BYTES} bytes")


def _signed_content(metadata: bytes, payload: bytes) -> bytes:
    # The length prefix pins where metadata ends, so bytes cannot be shifted between
    # metadata and payload without changing the digest.
    return struct.pack(">Q", len(metadata)) + metadata + payload


def _resolve_inside(path: Path, model_dir: Path) -> Path:
    root = model_dir.resolve(strict=True)
    candidate = path if path.is_absolute() else root / path
    # resolve() follows symlinks and collapses "..", so what is checked is what is opened.
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root):
        raise ModelOutsideDirError(f"model path {str(path)!r} resolves outside the model directory")
    return resolved


def _read_verified(path: Path, key: bytes | None) -> tuple[dict[str, Any], bytes]:
    data = path.read_bytes()
    name = path.name
    prefix = len(_MAGIC) + _LENGTH.size
    if len(data) < prefix or not data.startswith(_MAGIC):
        raise ModelCorruptError(f"{name}: not a SecureNet model file (bad magic)")
    (header_length,) = _LENGTH.unpack_from(data, len(_MAGIC))
    if header_length > _MAX_ENVELOPE_BYTES or len(data) < prefix + header_length:
        raise ModelCorruptError(f"{name}: truncated or oversized header")
    try:
        envelope = json.loads(data[prefix : prefix + header_length])
        version = envelope["format_version"]
        metadata_length = int(envelope["metadata_length"])
        payload_length = int(envelope["payload_length"])
        checksum = str(envelope["sha256"])
        signature = envelope["hmac_sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelCorruptError(f"{name}: unreadable header ({type(exc).__name__})") from exc
    if version != MODEL_FORMAT_VERSION:
        raise ModelIncompatibleError(
            f"{name}: model format version {version!r}, this code reads version {MODEL_FORMAT_VERSION}"
        )
    body = data[prefix + header_length :]
    if metadata_length < 0 or payload_length < 0 or len(body) != metadata_length + payload_length:
        raise ModelCorruptError(
            f"{name}: expected {metadata_length + payload_length} content bytes, found {len(body)} (truncated?)"
        )
    metadata_bytes, payload = body[:metadata_length], body[metadata_length:]
    signed = _signed_content(metadata_bytes, payload)
    if not hmac.compare_digest(hashlib.sha256(signed).hexdigest(), checksum):
        raise ModelTamperedError(f"{name}: checksum mismatch; the file was modified or damaged")
    if key is not None:
        if not isinstance(signature, str):
            raise ModelTamperedError(f"{name}: model is not signed, but a key was given")
        expected = hmac.new(key, signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ModelTamperedError(f"{name}: HMAC mismatch; wrong key or the file was modified")
    try:
        metadata = json.loads(metadata_bytes)
    except ValueError as exc:
        raise ModelCorruptError(f"{name}: unreadable metadata") from exc
    if not isinstance(metadata, dict) or metadata.get("kind") != _KIND:
        raise ModelIncompatibleError(f"{name}: not a {_KIND} model")
    return metadata, payload


def _extractor_from(metadata: dict[str, Any]) -> FeatureExtractor:
    try:
        schema = metadata["feature_schema"]
        extractor = FeatureExtractor.from_state(schema["extractor"])
        names = list(schema["names"])
    except (KeyError, TypeError) as exc:
        raise ModelIncompatibleError(f"model metadata has no usable feature schema ({exc!r})") from exc
    except FeatureSchemaError as exc:
        raise ModelIncompatibleError(f"feature schema: {exc}") from exc
    if extractor.feature_names != names:
        raise ModelIncompatibleError("feature schema mismatch: extractor state and feature names disagree")
    return extractor


def _check_libraries(metadata: dict[str, Any]) -> None:
    # A pickled forest is only trustworthy with the scikit-learn minor release (and
    # numpy major release) that wrote it; refuse rather than risk silently wrong scores.
    recorded = metadata.get("libraries", {})
    current = _library_versions()
    for library, parts in (("sklearn", 2), ("numpy", 1)):
        saved = str(recorded.get(library, ""))
        if saved.split(".")[:parts] != current[library].split(".")[:parts]:
            raise ModelIncompatibleError(
                f"model was written with {library} {saved or 'unknown'}, this is {current[library]}"
            )


def _unpickle(payload: bytes) -> _Fitted:
    try:
        fitted = pickle.loads(payload)  # noqa: S301 - only after checksum/HMAC verification
    except Exception as exc:
        raise ModelCorruptError(f"model payload cannot be unpickled ({type(exc).__name__})") from exc
    if not isinstance(fitted, _Fitted):
        raise ModelIncompatibleError(f"model payload is a {type(fitted).__name__}, not a fitted detector")
    return fitted
