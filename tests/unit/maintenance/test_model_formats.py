"""Artefacts of the first store format (scikit-learn inside) still load and score the same;
artefacts of the current format hold no object of the training libraries."""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from maintenance import model_store
from maintenance.anomaly import AnomalyScorer
from maintenance.errors import ModelMismatchError, ModelStoreError
from maintenance.features import FloatArray
from maintenance.model_store import (
    ARTEFACT_FILE,
    FORMAT_VERSION,
    METADATA_FILE,
    ModelMetadata,
    ModelStore,
    library_versions,
)
from maintenance.rul import RulModel
from maintenance.training import ages_of, unit_windows
from tests.unit.maintenance.maintenance_kit import (
    COLUMNS,
    cmapss,
    small_anomaly_scorer,
    small_rul_model,
)

CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST_FORMAT = 1


@dataclass(frozen=True)
class EstimatorTrees:
    """Scores as the first format did: with scikit-learn's own ``predict``."""

    estimator: HistGradientBoostingRegressor

    def predict(self, design: FloatArray) -> FloatArray:
        return np.asarray(self.estimator.predict(design), dtype=np.float64)


@cache
def fitted_estimator() -> HistGradientBoostingRegressor:
    """Trees over the small RUL model's features (random rows, a target in its learnt range)."""
    width = len(small_rul_model().feature_names)
    rng = np.random.default_rng(11)
    rows = rng.normal(size=(600, width))
    rows[rng.random(rows.shape) < 0.05] = np.nan
    target = np.log(60.0 + 50.0 * np.tanh(np.nan_to_num(rows[:, 0])) + 10.0)
    return HistGradientBoostingRegressor(max_iter=40, max_leaf_nodes=15).fit(rows, target)


def first_format_rul_model() -> RulModel:
    """A RUL model as the first format pickled it: its fields with ``estimator`` for ``trees``."""
    model = small_rul_model()
    legacy = object.__new__(RulModel)
    legacy.__dict__.update(
        pipeline=model.pipeline,
        settings=model.settings,
        estimator=fitted_estimator(),
        band=model.band,
        metrics=model.metrics,
    )
    return legacy


def store_in_first_format(root: Path, name: str, model: RulModel | AnomalyScorer) -> None:
    """Write ``model`` as version 1 of ``name`` the way the first store format did."""
    bare = ModelMetadata(
        format_version=FIRST_FORMAT,
        name=name,
        version=1,
        kind=model.kind,
        model_class=f"{type(model).__module__}.{type(model).__qualname__}",
        model_version=model.model_version,
        features=small_rul_model().feature_names if model.kind == "rul" else model.feature_names,
        training_data_sha256="0" * 64,
        artefact_sha256="0" * 64,
        library_versions=library_versions(),
        created_at=CREATED,
    )
    sealed = json.loads(bare.model_dump_json())
    sealed.pop("artefact_sha256")
    artefact = pickle.dumps({"metadata": sealed, "model": model}, protocol=5)
    metadata = bare.model_copy(update={"artefact_sha256": hashlib.sha256(artefact).hexdigest()})
    directory = root / name / "v0001"
    directory.mkdir(parents=True)
    (directory / ARTEFACT_FILE).write_bytes(artefact)
    (directory / METADATA_FILE).write_text(metadata.model_dump_json())


def test_a_first_format_rul_model_loads_and_scores_as_scikit_learn_did(tmp_path: Path) -> None:
    legacy = first_format_rul_model()
    store_in_first_format(tmp_path, "pump-rul", legacy)
    names = small_rul_model().feature_names
    loaded = ModelStore(tmp_path).load("pump-rul", expected_features=names, expected_kind="rul")
    assert loaded.metadata.format_version == FIRST_FORMAT
    assert not hasattr(loaded.model, "estimator")
    as_before = replace(small_rul_model(), trees=EstimatorTrees(fitted_estimator()))  # type: ignore[arg-type]
    test = unit_windows(cmapss("FD001").test, COLUMNS, small_rul_model().pipeline)
    before = as_before.predict(test.windows, ages_of(test))
    after = loaded.model.predict(test.windows, ages_of(test))
    for was, now in ((before.rul, after.rul), (before.lower, after.lower)):
        np.testing.assert_allclose(now, was, rtol=1e-6)


def test_a_first_format_anomaly_model_loads_unchanged(tmp_path: Path) -> None:
    scorer = small_anomaly_scorer()
    store_in_first_format(tmp_path, "pump-anomaly", scorer)
    loaded = ModelStore(tmp_path).load("pump-anomaly", expected_features=scorer.feature_names)
    np.testing.assert_array_equal(loaded.model.precision, scorer.precision)


def test_a_first_format_artefact_needs_the_scikit_learn_that_pickled_it(tmp_path: Path) -> None:
    store_in_first_format(tmp_path, "pump-rul", first_format_rul_model())
    path = tmp_path / "pump-rul" / "v0001" / METADATA_FILE
    data = json.loads(path.read_text())
    data["library_versions"]["scikit-learn"] = "0.24.2"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelMismatchError, match=r"scikit-learn 0\.24\.2"):
        ModelStore(tmp_path).load("pump-rul", expected_features=small_rul_model().feature_names)


def test_a_first_format_model_saved_again_is_stored_in_the_current_format(tmp_path: Path) -> None:
    old, new = ModelStore(tmp_path / "old"), ModelStore(tmp_path / "new")
    store_in_first_format(old.root, "pump-rul", first_format_rul_model())
    metadata = new.copy_from(old, "pump-rul")
    assert metadata.format_version == FORMAT_VERSION
    assert b"sklearn" not in (new.root / "pump-rul" / "v0001" / ARTEFACT_FILE).read_bytes()


def test_the_current_format_loads_under_another_scikit_learn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = {**library_versions(), "scikit-learn": "0.24.2"}
    monkeypatch.setattr(model_store, "library_versions", lambda: elsewhere)
    store, model = ModelStore(tmp_path), small_rul_model()
    store.save("pump-rul", model, training_data_sha256="0" * 64, now=CREATED)
    monkeypatch.undo()
    assert b"sklearn" not in (tmp_path / "pump-rul" / "v0001" / ARTEFACT_FILE).read_bytes()
    loaded = store.load("pump-rul", expected_features=model.feature_names)
    assert loaded.metadata.library_versions["scikit-learn"] == "0.24.2"
    assert loaded.metadata.format_version == FORMAT_VERSION


def test_a_model_holding_a_scikit_learn_object_is_not_stored(tmp_path: Path) -> None:
    holding = replace(small_rul_model(), trees=EstimatorTrees(fitted_estimator()))  # type: ignore[arg-type]
    with pytest.raises(ModelStoreError, match="sklearn"):
        ModelStore(tmp_path).save("pump-rul", holding, training_data_sha256="0" * 64)
    assert ModelStore(tmp_path).versions("pump-rul") == []
