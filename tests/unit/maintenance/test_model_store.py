"""Stored models round-trip, and the store refuses models that do not fit or were tampered with."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from maintenance.errors import ModelMismatchError, ModelStoreError
from maintenance.model_store import (
    ARTEFACT_FILE,
    METADATA_FILE,
    ModelStore,
    dataset_digest,
    library_versions,
)
from maintenance.rul import RulModel
from maintenance.scoring_groups import load_checked
from maintenance.training import ages_of, unit_windows
from tests.unit.maintenance.maintenance_kit import COLUMNS, cmapss, small_rul_model

CREATED = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)


def saved(root: Path) -> tuple[ModelStore, RulModel, str]:
    store = ModelStore(root)
    model = small_rul_model()
    digest = dataset_digest(cmapss("FD001").train)
    store.save("pump-rul", model, training_data_sha256=digest, metrics=model.metrics, now=CREATED)
    return store, model, digest


def metadata_path(root: Path, version: int = 1) -> Path:
    return root / "pump-rul" / f"v{version:04d}" / METADATA_FILE


def rewrite_metadata(root: Path, change: dict[str, object]) -> None:
    path = metadata_path(root)
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))


def test_round_trip_keeps_predictions_and_records_provenance(tmp_path: Path) -> None:
    store, model, digest = saved(tmp_path)
    loaded = store.load("pump-rul", expected_features=model.feature_names, expected_kind="rul")
    test = unit_windows(cmapss("FD001").test, COLUMNS, model.pipeline)
    before = model.predict(test.windows, ages_of(test))
    after = loaded.model.predict(test.windows, ages_of(test))
    np.testing.assert_array_equal(before.rul, after.rul)
    np.testing.assert_array_equal(before.upper, after.upper)
    meta = loaded.metadata
    assert meta.features == model.feature_names
    assert meta.training_data_sha256 == digest
    assert meta.metrics == model.metrics
    assert meta.kind == "rul"
    assert meta.version == 1
    assert meta.created_at == CREATED
    assert meta.library_versions == library_versions()


def test_versions_increase_and_latest_is_loaded_by_default(tmp_path: Path) -> None:
    store, model, digest = saved(tmp_path)
    second = store.save("pump-rul", model, training_data_sha256=digest)
    assert second.version == 2
    assert store.versions("pump-rul") == [1, 2]
    names = model.feature_names
    assert store.load("pump-rul", expected_features=names).metadata.version == 2
    assert store.load("pump-rul", expected_features=names, version=1).metadata.version == 1


@pytest.mark.parametrize(
    "change",
    [lambda f: f[:-1], lambda f: (*f, "sensor_99__mean_w30"), lambda f: tuple(reversed(f))],
    ids=["missing", "extra", "reordered"],
)
def test_feature_mismatch_is_refused(tmp_path: Path, change: object) -> None:
    store, model, _ = saved(tmp_path)
    expected = change(model.feature_names)  # type: ignore[operator]
    with pytest.raises(ModelMismatchError, match="feature mismatch"):
        store.load("pump-rul", expected_features=expected)


def test_another_kind_is_refused(tmp_path: Path) -> None:
    store, model, _ = saved(tmp_path)
    with pytest.raises(ModelMismatchError, match="anomaly"):
        store.load("pump-rul", expected_features=model.feature_names, expected_kind="anomaly")


def test_hand_edited_metadata_is_refused(tmp_path: Path) -> None:
    store, model, _ = saved(tmp_path)
    rewrite_metadata(tmp_path, {"metrics": {"oof_rmse_capped": 1.0}})
    with pytest.raises(ModelMismatchError, match="sealed"):
        store.load("pump-rul", expected_features=model.feature_names)


def test_metadata_edited_to_fit_other_features_is_refused(tmp_path: Path) -> None:
    store, model, _ = saved(tmp_path)
    wanted = (*model.feature_names[:-1], "hours")
    rewrite_metadata(tmp_path, {"features": list(wanted)})
    with pytest.raises(ModelMismatchError):
        store.load("pump-rul", expected_features=wanted)


@pytest.mark.parametrize("content", [b"{not json", b'{"name": "pump-rul"}', b""])
def test_corrupt_metadata_is_refused(tmp_path: Path, content: bytes) -> None:
    store, model, _ = saved(tmp_path)
    metadata_path(tmp_path).write_bytes(content)
    with pytest.raises(ModelMismatchError, match="corrupt"):
        store.load("pump-rul", expected_features=model.feature_names)


def test_missing_metadata_is_refused(tmp_path: Path) -> None:
    store, model, _ = saved(tmp_path)
    metadata_path(tmp_path).unlink()
    with pytest.raises(ModelMismatchError, match="missing"):
        store.load("pump-rul", expected_features=model.feature_names)


def test_altered_artefact_is_refused(tmp_path: Path) -> None:
    store, model, _ = saved(tmp_path)
    artefact = tmp_path / "pump-rul" / "v0001" / ARTEFACT_FILE
    content = bytearray(artefact.read_bytes())
    content[len(content) // 2] ^= 0xFF
    artefact.write_bytes(bytes(content))
    with pytest.raises(ModelMismatchError, match="SHA-256"):
        store.load("pump-rul", expected_features=model.feature_names)


def test_unknown_model_or_version_is_a_store_error(tmp_path: Path) -> None:
    store, model, _ = saved(tmp_path)
    with pytest.raises(ModelStoreError, match="no stored model"):
        store.load("fan-rul", expected_features=model.feature_names)
    with pytest.raises(ModelStoreError, match="no version 7"):
        store.load("pump-rul", expected_features=model.feature_names, version=7)
    with pytest.raises(ModelStoreError, match="must match"):
        store.versions("../escape")


def test_dataset_digest_follows_values_and_column_names() -> None:
    table = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert dataset_digest(table) == dataset_digest(table.copy())
    changed = table.copy()
    changed.loc[1, "b"] = 4.000001
    assert dataset_digest(changed) != dataset_digest(table)
    assert dataset_digest(table.rename(columns={"b": "c"})) != dataset_digest(table)


def test_scoring_refuses_a_rul_model_of_an_older_format(tmp_path: Path) -> None:
    store, model, _ = saved(tmp_path)
    tags = model.pipeline.input_tags
    assert load_checked(store, "pump-rul", "rul", tags, RulModel.model_version) is not None
    rewrite_metadata(tmp_path, {"model_version": RulModel.model_version - 1})
    with pytest.raises(ModelMismatchError, match="format") as refused:
        load_checked(store, "pump-rul", "rul", tags, RulModel.model_version)
    assert "trustfloor train" in refused.value.advice
