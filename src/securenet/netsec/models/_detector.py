"""FlowAnomalyDetector: the kNN-distance + IsolationForest ensemble, trained per tenant."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import IsolationForest
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from securenet.netsec.features import FeatureExtractor, FeatureSchemaError
from securenet.netsec.models._file import (
    KIND,
    ModelIncompatibleError,
    check_libraries,
    library_versions,
    pickled_as_public,
    read_model,
    unpickle,
    write_model,
)
from securenet.netsec.models._scorers import IsolationPathScorer, PrototypeIndex, TailCalibrator

FloatArray = npt.NDArray[np.float64]

#: Detectors :class:`FlowAnomalyDetector` can fuse.
COMPONENTS: tuple[str, ...] = ("knn", "iforest")
# Standard-deviation floor for kNN scaling. A rare one-hot column has a tiny standard
# deviation; dividing by it would let that single column dominate every distance.
_SCALE_FLOOR = 0.5
_MIN_TRAINING_ROWS = 20


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


@pickled_as_public
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
        # Scoring helpers, built on first use and never saved: the forest's path tables and the
        # handle on the process's BLAS thread pools.
        self._paths: IsolationPathScorer | None = None
        self._blas: ThreadpoolController | None = None

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
                with self._one_blas_thread():
                    nearest = fitted.knn.nearest(chunk)
                scaled -= fitted.knn.reference[nearest]
            difference = scaled
            weight = np.where(one_hot & (difference < 0), 0.0, np.abs(difference))
            top = np.argsort(-weight, axis=1, kind="stable")[:, :k]
            stop = start + len(chunk)
            indices[start:stop] = top
            deviations[start:stop] = np.take_along_axis(difference, top, axis=1)
        return FeatureExplanation(features=names[indices], deviations=deviations)

    def _component_score(self, fitted: _Fitted, name: str, features: npt.NDArray[np.float32]) -> FloatArray:
        if name == "knn" and fitted.knn is not None:
            with self._one_blas_thread():
                return fitted.knn.distances(features)
        if name == "iforest" and fitted.iforest is not None:
            if self._paths is None:
                self._paths = IsolationPathScorer(fitted.iforest, block_rows=self.batch_size)
            return self._paths.anomaly(features)
        raise ModelIncompatibleError(f"model has no fitted {name!r} component")

    def _one_blas_thread(self) -> AbstractContextManager[Any]:
        """Run BLAS on the calling thread alone while the block is active.

        The prototype products are small and memory-bound: waking BLAS's worker threads for
        each of them costs more than the products themselves, as the workers fall asleep
        during the model's other steps (docs/notes/detection.md). The limit is process wide
        while it lasts, as threadpoolctl's always is.
        """
        if self._blas is None:
            self._blas = ThreadpoolController()
        limit: AbstractContextManager[Any] = self._blas.limit(limits=1, user_api="blas")
        return limit

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
            "kind": KIND,
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
            "libraries": library_versions(),
            "created_at": self.created_at,
        }

    def save(self, path: str | os.PathLike[str], key: bytes | None = None) -> None:
        """Write the model file atomically; sign it with HMAC-SHA256 when ``key`` is given."""
        fitted = self._require_fitted()
        write_model(Path(path), self.metadata(), fitted, key)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], model_dir: str | os.PathLike[str], *, key: bytes | None = None
    ) -> FlowAnomalyDetector:
        """Read a model file from inside ``model_dir``, verifying it before unpickling.

        Relative paths are taken relative to ``model_dir``. With ``key``, the file must
        carry a valid HMAC made with that key; without, only the checksum is verified,
        which catches corruption but not a deliberate rewrite.
        """
        resolved, metadata, payload = read_model(Path(path), Path(model_dir), key)
        extractor = _extractor_from(metadata)
        check_libraries(metadata)
        try:
            detector = cls(components=metadata["components"], extractor=extractor, **metadata["params"])
            detector.threshold = float(metadata["threshold"])
            detector.n_training_rows = int(metadata["n_training_rows"])
            detector.created_at = str(metadata["created_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelIncompatibleError(f"{resolved.name}: unusable model metadata: {exc}") from exc
        fitted = unpickle(payload, _Fitted)
        if fitted.center.shape != (extractor.n_features,):
            raise ModelIncompatibleError(
                f"{resolved.name}: model was fitted on {fitted.center.shape[0]} features, "
                f"its schema has {extractor.n_features}"
            )
        if set(fitted.component_calibrators) != set(detector.components):
            raise ModelIncompatibleError(f"{resolved.name}: payload components do not match the metadata")
        detector._fitted = fitted
        return detector


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
