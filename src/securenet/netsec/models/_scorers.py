"""The scorers a detector is built from: kNN distance to prototypes, isolation paths, tail calibration."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning

from securenet.netsec.models._file import pickled_as_public

FloatArray = npt.NDArray[np.float64]

# Query rows per block of the prototype distance matrix: 2048 x 512 float32 is 4 MiB,
# which stays in cache between the product that writes it and the minimum that reads it.
_DISTANCE_BLOCK_ROWS = 2048


@pickled_as_public
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
    most near their roots (:attr:`sort_columns`); the scores are the same, in input order.
    What that buys is measured in docs/notes/detection.md.
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


@pickled_as_public
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
        return _nearest(self.project(features), self.prototypes, with_index=False)[0]

    def nearest(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
        """Index of each flow's nearest prototype (a row of :attr:`reference`)."""
        return _nearest(self.project(features), self.prototypes)[1]


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
