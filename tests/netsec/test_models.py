from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
import json
import pickle
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import ThreadpoolController

from securenet.netsec import models
from securenet.netsec.flows import flows_to_frame
from securenet.netsec.models import (
    MODEL_FORMAT_VERSION,
    FeatureExplanation,
    FlowAnomalyDetector,
    IsolationPathScorer,
    ModelCorruptError,
    ModelError,
    ModelIncompatibleError,
    ModelOutsideDirError,
    ModelTamperedError,
    PrototypeIndex,
    TailCalibrator,
)
from securenet.netsec.readers import read_flows
from tests.netsec.kdd import kdd_lines, write_kdd
from tests.netsec.traffic import background_and_scan

KEY = b"0123456789abcdef0123456789abcdef"
MAGIC = b"SNETMODEL\n"


@pytest.fixture(scope="module")
def nsl_kdd(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, np.ndarray]:
    path = write_kdd(tmp_path_factory.mktemp("kdd") / "train.txt", kdd_lines(4000))
    chunk = next(read_flows(path, "nsl-kdd", chunk_size=4000))
    assert chunk.labels is not None
    return chunk.frame, chunk.labels.to_numpy()


@pytest.fixture(scope="module")
def split(nsl_kdd: tuple[pd.DataFrame, np.ndarray]) -> dict[str, Any]:
    """Train on the normal rows of the first 3000 records, validate on the next 1000."""
    frame, labels = nsl_kdd
    train = frame.iloc[:3000]
    normal = train[labels[:3000] == "normal"].reset_index(drop=True)
    valid = frame.iloc[3000:].reset_index(drop=True)
    return {"normal": normal, "valid": valid, "attack": labels[3000:] != "normal"}


@pytest.fixture(scope="module")
def detector(split: dict[str, Any]) -> FlowAnomalyDetector:
    return FlowAnomalyDetector(n_estimators=50, max_samples=256).fit(split["normal"])


@pytest.fixture
def model_file(detector: FlowAnomalyDetector, tmp_path: Path) -> Path:
    path = tmp_path / "tenant-a.model"
    detector.save(path, key=KEY)
    return path


def test_roc_auc_floor_on_nsl_kdd_slice(detector: FlowAnomalyDetector, split: dict[str, Any]) -> None:
    scores = detector.score(split["valid"])
    assert roc_auc_score(split["attack"], scores) > 0.95
    flagged = detector.predict(split["valid"])
    assert flagged[split["attack"]].mean() > 0.8  # recall at the frozen threshold
    assert flagged[~split["attack"]].mean() < 0.05  # false-positive rate


def test_scores_are_in_unit_interval_and_threshold_is_frozen_from_training(
    detector: FlowAnomalyDetector, split: dict[str, Any]
) -> None:
    scores = detector.score(split["valid"])
    assert scores.min() >= 0.0
    assert scores.max() <= 1.0
    assert 0.0 < detector.threshold < 1.0
    np.testing.assert_array_equal(detector.predict(split["valid"]), scores >= detector.threshold)
    # About `contamination` of the baseline lies above the threshold.
    assert detector.predict(split["normal"]).mean() < 3 * detector.contamination


@pytest.mark.parametrize("components", [("knn",), ("iforest",), ("knn", "iforest")])
def test_each_component_scores_alone(components: tuple[str, ...], split: dict[str, Any]) -> None:
    model = FlowAnomalyDetector(components=components, n_estimators=30, max_samples=128)
    model.fit(split["normal"].head(800))
    assert roc_auc_score(split["attack"], model.score(split["valid"])) > 0.9


def test_micro_batches_give_the_same_scores(detector: FlowAnomalyDetector, split: dict[str, Any]) -> None:
    small = FlowAnomalyDetector(batch_size=97)
    small.__dict__.update({k: v for k, v in detector.__dict__.items() if k not in ("batch_size", "_paths")})
    calls: list[tuple[str, int]] = []
    original = small._component_score

    def spy(fitted: Any, name: str, features: np.ndarray) -> np.ndarray:
        calls.append((name, len(features)))
        return original(fitted, name, features)

    walks: list[int] = []
    forest = small._require_fitted().iforest
    assert forest is not None
    first_tree = forest.estimators_[0].tree_

    class CountingTree:  # Cython trees take no new attributes: wrap one to count rows per walk
        def __getattr__(self, name: str) -> Any:
            return getattr(first_tree, name)

        def apply(self, rows: np.ndarray) -> np.ndarray:
            walks.append(len(rows))
            return first_tree.apply(rows)  # type: ignore[no-any-return]

    small._component_score = spy  # type: ignore[method-assign]
    small._paths = IsolationPathScorer(forest, block_rows=97)
    small._paths.trees[0] = CountingTree()
    batched, whole = small.score(split["valid"]), detector.score(split["valid"])
    # The kNN distances are float32 matrix products, and OpenBLAS picks its kernel by the block's
    # shape (OPENBLAS_CORETYPE=Haswell's small-matrix kernels sum in another order), so a flow's
    # score may move in the 5th decimal with the batch size; rows are never mixed up, and no
    # verdict changes unless the score sits that close to the threshold.
    np.testing.assert_allclose(batched, whole, rtol=0, atol=1e-4)
    clear = np.abs(whole - detector.threshold) > 1e-4
    np.testing.assert_array_equal((batched >= detector.threshold)[clear], (whole >= detector.threshold)[clear])
    n = len(split["valid"])
    knn = [size for name, size in calls if name == "knn"]
    assert max(knn) == 97 and len(knn) == int(np.ceil(n / 97))
    # The forest gets the whole batch (to order its rows) and walks it in blocks of batch_size.
    assert [size for name, size in calls if name == "iforest"] == [n]
    assert max(walks) == 97 and len(walks) == int(np.ceil(n / 97))


def test_knn_scoring_runs_blas_on_one_thread_and_the_index_alone_leaves_the_pools(split: dict[str, Any]) -> None:
    """The detector limits BLAS threads around its kNN products; PrototypeIndex itself changes nothing."""

    def blas_threads() -> list[int]:
        return [int(lib["num_threads"]) for lib in ThreadpoolController().select(user_api="blas").info()]

    seen: list[list[int]] = []

    class Watched(PrototypeIndex):
        def distances(self, features: np.ndarray) -> np.ndarray:
            seen.append(blas_threads())
            return super().distances(features)

        def nearest(self, features: np.ndarray) -> np.ndarray:
            seen.append(blas_threads())
            return super().nearest(features)

    model = FlowAnomalyDetector(components=("knn",), n_prototypes=32).fit(split["normal"].head(600))
    fitted = model._require_fitted()
    assert fitted.knn is not None
    knn = Watched(fitted.knn.projection, fitted.knn.offset, fitted.knn.prototypes, fitted.knn.reference)
    model._fitted = dataclasses.replace(fitted, knn=knn)
    pools = blas_threads()

    model.score(split["valid"].head(50))
    model.explain(split["valid"].head(5))
    assert len(seen) == 2 and all(threads == [1] * len(pools) for threads in seen)
    assert blas_threads() == pools  # restored afterwards

    seen.clear()
    knn.distances(model.transform(split["valid"].head(5)))
    assert seen == [pools]


def test_forest_scores_match_scikit_learn_in_input_order(detector: FlowAnomalyDetector, split: dict[str, Any]) -> None:
    forest = detector._require_fitted().iforest
    assert forest is not None
    features = detector.transform(split["valid"])
    scorer = IsolationPathScorer(forest, block_rows=500)
    assert scorer.sort_columns.size > 0  # rows are reordered for the walks...
    np.testing.assert_allclose(
        scorer.anomaly(features), -forest.score_samples(features), rtol=1e-12
    )  # ...not the scores
    shuffled = np.random.default_rng(0).permutation(len(features))
    np.testing.assert_allclose(scorer.anomaly(features[shuffled]), scorer.anomaly(features)[shuffled], rtol=1e-12)


def test_explain_names_the_feature_that_moved(detector: FlowAnomalyDetector, split: dict[str, Any]) -> None:
    flows = split["normal"].head(5).copy()
    flows.loc[0, "orig_bytes"] = 5e9
    explanation = detector.explain(flows, top_k=3)
    assert explanation.features.shape == (5, 3)
    assert explanation.deviations.shape == (5, 3)
    assert explanation.features[0, 0] == "log1p(orig_bytes)"
    assert explanation.deviations[0, 0] > 3
    rows = explanation.rows()
    assert rows[0][0][0] == "log1p(orig_bytes)"
    assert set(explanation.features.ravel()) <= set(detector.feature_names)


def test_empty_batch_scores_to_empty_arrays(detector: FlowAnomalyDetector, split: dict[str, Any]) -> None:
    empty = split["valid"].head(0)
    assert detector.score(empty).shape == (0,)
    assert detector.predict(empty).shape == (0,)
    assert detector.explain(empty).features.shape == (0, 3)


def test_fit_rejects_tiny_baselines_and_bad_parameters(split: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="at least"):
        FlowAnomalyDetector().fit(split["normal"].head(3))
    with pytest.raises(ValueError, match="components"):
        FlowAnomalyDetector(components=("lof",))
    with pytest.raises(RuntimeError, match="not fitted"):
        FlowAnomalyDetector().score(split["normal"])


def test_scanner_flagged_by_window_features() -> None:
    normal, scan = background_and_scan()
    model = FlowAnomalyDetector(n_estimators=50, max_samples=256).fit(flows_to_frame(normal))
    # Window features describe a batch's traffic as a whole, so the live batch carries
    # the same background traffic as the baseline, plus the scan.
    flagged = model.predict(flows_to_frame(normal + scan))
    assert flagged[len(normal) :].mean() > 0.9
    assert flagged[: len(normal)].mean() < 0.05


def test_tail_calibrator_is_monotone_beyond_the_training_range() -> None:
    calibrator = TailCalibrator.fit(np.arange(100.0), max_knots=16)
    cdf = calibrator.cdf(np.array([-5.0, 0.0, 50.0, 99.0, 100.0, 110.0, 1e6]))
    assert np.all(np.diff(cdf) >= 0)
    assert cdf[3] < cdf[4] < cdf[5]  # beyond the largest training score, still ordered
    assert cdf.min() >= 0.0
    assert cdf.max() <= 1.0


@pytest.mark.parametrize("max_features", [1.0, 0.5])
def test_isolation_path_scorer_matches_score_samples(max_features: float) -> None:
    rng = np.random.default_rng(3)
    train = rng.standard_normal((600, 6)).astype(np.float32)
    forest = IsolationForest(n_estimators=40, max_samples=128, max_features=max_features, random_state=0).fit(train)
    flows = np.vstack([train[:100], rng.standard_normal((100, 6)).astype(np.float32) * 4])
    np.testing.assert_allclose(IsolationPathScorer(forest).anomaly(flows), -forest.score_samples(flows), rtol=1e-12)


def test_small_baselines_use_every_flow_and_score_it_leave_one_out() -> None:
    rng = np.random.default_rng(4)
    scaled = rng.standard_normal((300, 5))
    center, scale = np.zeros(5), np.ones(5)
    index, left_out = PrototypeIndex.fit(scaled, center, scale, n_components=5, n_prototypes=1024, random_state=0)
    assert index.prototypes.shape == (300, 5)
    # With as many components as features, PCA is a rotation: distances are the exact
    # nearest-neighbour distances, each flow left out of its own neighbours.
    exact = NearestNeighbors(n_neighbors=1).fit(scaled).kneighbors(n_neighbors=1)[0][:, 0]
    np.testing.assert_allclose(left_out, exact, rtol=1e-9, atol=1e-9)
    queries = rng.standard_normal((50, 5)) * 3
    expected = NearestNeighbors(n_neighbors=1).fit(scaled).kneighbors(queries)[0][:, 0]
    np.testing.assert_allclose(index.distances(queries.astype(np.float32)), expected, rtol=1e-3, atol=1e-3)


def test_large_baselines_are_summarised_by_cluster_means() -> None:
    rng = np.random.default_rng(5)
    blobs = rng.integers(0, 40, 5000)
    scaled = rng.standard_normal((40, 8))[blobs] * 3 + rng.standard_normal((5000, 8)) * 0.1
    index, left_out = PrototypeIndex.fit(
        scaled, np.zeros(8), np.ones(8), n_components=8, n_prototypes=64, random_state=0
    )
    assert len(index.prototypes) <= 64
    nearest = index.nearest(scaled.astype(np.float32))
    # Every prototype is the mean of the baseline flows assigned to it (their nearest
    # k-means centre, which is almost always their nearest prototype too).
    np.testing.assert_allclose(index.reference[nearest].mean(axis=0), scaled.mean(axis=0), atol=1e-2)
    in_sample = index.distances(scaled.astype(np.float32))
    # Leaving a flow out of its own cluster can only move its prototype away from it.
    assert np.all(left_out >= in_sample - 1e-4)
    assert np.median(left_out) < 1.0 < np.median(index.distances(rng.standard_normal((200, 8)).astype(np.float32) * 10))


# -- model files --------------------------------------------------------------------------


def parse(path: Path) -> tuple[dict[str, Any], bytes, bytes]:
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    (length,) = struct.unpack_from(">I", data, len(MAGIC))
    start = len(MAGIC) + 4
    envelope = json.loads(data[start : start + length])
    body = data[start + length :]
    return envelope, body[: envelope["metadata_length"]], body[envelope["metadata_length"] :]


def write(path: Path, envelope: dict[str, Any], metadata: bytes, payload: bytes, *, reseal: bool) -> None:
    """Write a model file; with ``reseal`` the checksum matches the new content (no HMAC)."""
    if reseal:
        signed = struct.pack(">Q", len(metadata)) + metadata + payload
        envelope = envelope | {
            "sha256": hashlib.sha256(signed).hexdigest(),
            "hmac_sha256": None,
            "metadata_length": len(metadata),
            "payload_length": len(payload),
        }
    header = json.dumps(envelope).encode()
    path.write_bytes(MAGIC + struct.pack(">I", len(header)) + header + metadata + payload)


def edit_metadata(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    envelope, metadata, payload = parse(path)
    document = json.loads(metadata)
    change(document)
    write(path, envelope, json.dumps(document).encode(), payload, reseal=True)


def test_round_trip_gives_identical_scores_and_metadata(
    detector: FlowAnomalyDetector, model_file: Path, split: dict[str, Any]
) -> None:
    loaded = FlowAnomalyDetector.load(model_file.name, model_file.parent, key=KEY)
    np.testing.assert_array_equal(loaded.score(split["valid"]), detector.score(split["valid"]))
    assert loaded.threshold == detector.threshold
    assert loaded.feature_names == detector.feature_names
    envelope, metadata, _ = parse(model_file)
    assert envelope["format_version"] == MODEL_FORMAT_VERSION
    assert len(envelope["sha256"]) == 64
    assert len(envelope["hmac_sha256"]) == 64
    document = json.loads(metadata)
    assert document["n_training_rows"] == len(split["normal"])
    assert document["threshold"] == detector.threshold
    assert document["feature_schema"]["names"] == detector.feature_names
    assert document["feature_schema"]["extractor"]["feature_names"] == detector.feature_names
    assert {"sklearn", "numpy"} <= set(document["libraries"])
    assert document["created_at"]


def test_model_files_name_our_classes_by_the_public_module(model_file: Path) -> None:
    """Pickled classes are recorded under securenet.netsec.models, so files outlive the private module layout."""
    _, _, payload = parse(model_file)
    found: set[tuple[str, str]] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module: str, name: str, /) -> Any:
            found.add((module, name))
            return super().find_class(module, name)

    Recorder(io.BytesIO(payload)).load()
    ours = {(module, name) for module, name in found if module.startswith("securenet")}
    assert ours == {
        ("securenet.netsec.models", "_Fitted"),
        ("securenet.netsec.models", "PrototypeIndex"),
        ("securenet.netsec.models", "TailCalibrator"),
    }


def test_public_names_live_in_private_modules() -> None:
    # The surface itself is listed in tests/test_public_api.py.
    pickled = {"PrototypeIndex", "TailCalibrator"}  # recorded under the public face, see above
    for name in models.__all__:
        value = getattr(models, name)
        if inspect.isclass(value) and name not in pickled:
            assert value.__module__.startswith("securenet.netsec.models._")


def test_unsigned_file_loads_without_key(detector: FlowAnomalyDetector, tmp_path: Path) -> None:
    detector.save(tmp_path / "plain.model")
    loaded = FlowAnomalyDetector.load(tmp_path / "plain.model", tmp_path)
    assert loaded.threshold == detector.threshold


TAMPERINGS: dict[str, Callable[[Path], object]] = {
    "payload byte flipped": lambda p: p.write_bytes(p.read_bytes()[:-10] + b"X" + p.read_bytes()[-9:]),
    "metadata threshold raised": lambda p: p.write_bytes(
        p.read_bytes().replace(b'"threshold": 0.', b'"threshold": 9.', 1)
    ),
    "resealed without the key": lambda p: write(p, *parse(p), reseal=True),
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_tampered_files_are_rejected(tamper: Callable[[Path], object], model_file: Path) -> None:
    tamper(model_file)
    with pytest.raises(ModelTamperedError):
        FlowAnomalyDetector.load(model_file, model_file.parent, key=KEY)


def test_wrong_key_and_unsigned_file_are_rejected(detector: FlowAnomalyDetector, model_file: Path) -> None:
    with pytest.raises(ModelTamperedError, match="HMAC"):
        FlowAnomalyDetector.load(model_file, model_file.parent, key=b"another key, 16+ bytes")
    detector.save(model_file)  # unsigned
    with pytest.raises(ModelTamperedError, match="not signed"):
        FlowAnomalyDetector.load(model_file, model_file.parent, key=KEY)


UNPICKLED: list[str] = []


class Exploit:
    def __reduce__(self) -> tuple[Callable[[str], None], tuple[str]]:
        return UNPICKLED.append, ("exploit ran",)


def test_payload_is_never_unpickled_before_verification(model_file: Path) -> None:
    envelope, metadata, _ = parse(model_file)
    exploit = pickle.dumps(Exploit())
    # Checksum left as it was: the swap must be caught by the checksum.
    write(model_file, envelope | {"payload_length": len(exploit)}, metadata, exploit, reseal=False)
    with pytest.raises(ModelTamperedError):
        FlowAnomalyDetector.load(model_file, model_file.parent)
    # Checksum recomputed by the attacker: only the HMAC can catch it.
    write(model_file, envelope, metadata, exploit, reseal=True)
    with pytest.raises(ModelTamperedError):
        FlowAnomalyDetector.load(model_file, model_file.parent, key=KEY)
    assert UNPICKLED == []


CORRUPTIONS: dict[str, Callable[[Path], object]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:-100]),
    "bad magic": lambda p: p.write_bytes(b"PK\x03\x04" + p.read_bytes()[4:]),
    "empty": lambda p: p.write_bytes(b""),
    "garbled header": lambda p: p.write_bytes(MAGIC + struct.pack(">I", 5) + b"{nope" + b"rest"),
    "header cut short": lambda p: p.write_bytes(p.read_bytes()[: len(MAGIC) + 20]),
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupt_files_are_rejected(corrupt: Callable[[Path], object], model_file: Path) -> None:
    corrupt(model_file)
    with pytest.raises(ModelCorruptError):
        FlowAnomalyDetector.load(model_file, model_file.parent, key=KEY)


def test_future_format_version_is_incompatible(model_file: Path) -> None:
    envelope, metadata, payload = parse(model_file)
    write(model_file, envelope | {"format_version": MODEL_FORMAT_VERSION + 1}, metadata, payload, reseal=False)
    with pytest.raises(ModelIncompatibleError, match="format version"):
        FlowAnomalyDetector.load(model_file, model_file.parent)


INCOMPATIBLE_METADATA: dict[str, Callable[[dict[str, Any]], object]] = {
    "feature names differ": lambda m: m["feature_schema"]["names"].append("log1p(orig_pkts)"),
    "extractor state version": lambda m: m["feature_schema"]["extractor"].update(version=99),
    "fewer features than the payload": lambda m: (
        m["feature_schema"]["extractor"].update(
            numeric=m["feature_schema"]["extractor"]["numeric"][1:],
            feature_names=m["feature_schema"]["extractor"]["feature_names"][1:],
        ),
        m["feature_schema"].update(names=m["feature_schema"]["names"][1:]),
    ),
    "other scikit-learn": lambda m: m["libraries"].update(sklearn="0.24.2"),
    "other kind of model": lambda m: m.update(kind="someone.else"),
}


@pytest.mark.parametrize("change", INCOMPATIBLE_METADATA.values(), ids=INCOMPATIBLE_METADATA.keys())
def test_incompatible_models_are_rejected(change: Callable[[dict[str, Any]], object], model_file: Path) -> None:
    edit_metadata(model_file, change)
    with pytest.raises(ModelIncompatibleError):
        FlowAnomalyDetector.load(model_file, model_file.parent)


def test_paths_outside_the_model_dir_are_rejected(model_file: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "link.model").symlink_to(model_file)
    escapes: list[str | Path] = [
        "../tenant-a.model",
        model_file,
        models / "link.model",
        models / ".." / model_file.name,
    ]
    for path in escapes:
        with pytest.raises(ModelOutsideDirError, match="outside"):
            FlowAnomalyDetector.load(path, models)
    # A symlink that stays inside the directory is fine.
    (models / "real.model").write_bytes(model_file.read_bytes())
    (models / "alias.model").symlink_to(models / "real.model")
    assert FlowAnomalyDetector.load("alias.model", models, key=KEY).threshold > 0


def test_errors_share_a_base_class_and_keys_must_be_long() -> None:
    for error in (ModelCorruptError, ModelIncompatibleError, ModelTamperedError, ModelOutsideDirError):
        assert issubclass(error, ModelError)
    with pytest.raises(ValueError, match="16 bytes"):
        FlowAnomalyDetector.load("x.model", ".", key=b"short")


def test_explanation_texts_read_as_sentences() -> None:
    explanation = FeatureExplanation(
        features=np.array([["resp_p=1900", "duration"], ["orig_bytes", "conn_state=S0"]]),
        deviations=np.array([[1.44, -0.46], [7.5, 0.0]]),
    )
    assert explanation.texts() == [
        "unusual resp_p=1900 +1.4sd, duration -0.5sd",
        "unusual orig_bytes +7.5sd, conn_state=S0 +0.0sd",
    ]
