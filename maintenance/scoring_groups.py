"""Scoring groups: machines that share tag names, and the stored or baseline models scoring each."""

# Models: ``anomaly-<group>`` and ``rul-<group>`` in the model store, where ``<group>`` is the
# alphabetically first machine id of the group (``machine_groups``; training names them the same
# way). A stored model trained on other tags, another kind or another scikit-learn is refused with
# ``ModelMismatchError``. A group with no anomaly model yet gets a baseline anomaly model fitted on
# its first samples (``fit_baseline_scorer``); without a RUL model the scores carry no RUL.

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from config import SiteSettings
from maintenance.anomaly import AnomalyScorer, fit_anomaly_scorer
from maintenance.errors import ModelMismatchError, TrainingDataError
from maintenance.features import FloatArray, IntArray, iter_history_features, level_windows
from maintenance.model_store import METADATA_FILE, ModelMetadata, ModelStore
from maintenance.pipeline import FeaturePipeline
from maintenance.rul import RulModel
from models import Component

SAMPLE_INTERVAL_METRIC = "sample_interval_s"
"""Model metric: seconds between the rows the model was trained on."""
BOOTSTRAP_WINDOWS = level_windows(window=10, long_window=30)
"""Windows of a bootstrap baseline model: short enough to learn from ``baseline_samples``."""


@dataclass(frozen=True, slots=True)
class ScoredMachine:
    """What scoring needs of a machine: its id, tag names in order, and its wearing parts."""

    id: str
    tags: tuple[str, ...]
    components: tuple[Component, ...] = ()


@dataclass(frozen=True, slots=True)
class MachineGroup:
    """Machines with the same tags: one buffer and one pair of models, named after ``name``."""

    name: str
    tags: tuple[str, ...]
    machines: tuple[ScoredMachine, ...]


def scored_machines(site: SiteSettings) -> list[ScoredMachine]:
    """Every Modbus and OPC UA machine of the site (printers are not scored)."""
    modbus = [
        ScoredMachine(m.id, tuple(t.name for t in m.tags), m.components) for m in site.machines
    ]
    opcua = [
        ScoredMachine(m.id, tuple(t.name for t in m.tags), m.components)
        for m in site.opcua_machines
    ]
    return modbus + opcua


def machine_groups(machines: Iterable[ScoredMachine]) -> list[MachineGroup]:
    """Machines grouped by their tag names; a group is named after its first machine id."""
    by_tags: dict[tuple[str, ...], list[ScoredMachine]] = {}
    for machine in machines:
        by_tags.setdefault(machine.tags, []).append(machine)
    groups = [
        MachineGroup(min(m.id for m in members), tags, tuple(members))
        for tags, members in by_tags.items()
    ]
    return sorted(groups, key=lambda group: group.name)


def anomaly_model_name(group: str) -> str:
    return f"anomaly-{group}"


def rul_model_name(group: str) -> str:
    return f"rul-{group}"


@dataclass(frozen=True, eq=False)
class GroupModels:
    """The models scoring one group, and the sampling they were trained with."""

    anomaly: AnomalyScorer
    rul: RulModel | None
    sample_interval_s: float
    version: str
    """Shown with every score, e.g. ``anomaly-mill-1 v2 + rul-mill-1 v1``."""

    @property
    def history(self) -> int:
        """Samples per machine the models need."""
        rul_history = self.rul.pipeline.history if self.rul is not None else 0
        return max(self.anomaly.pipeline.history, rul_history)

    def shared_columns(self) -> IntArray | None:
        """Where the anomaly scorer's features sit among the RUL model's by name (None: not all
        of them are there). Whether they are computed alike is checked on a window by the
        caller (``ScoringService``) before a tick extracts features once for both models."""
        if self.rul is None:
            return None
        anomaly = self.anomaly.pipeline
        position = {name: i for i, name in enumerate(self.rul.pipeline.feature_names)}
        if not all(name in position for name in anomaly.feature_names):
            return None
        return np.array([position[name] for name in anomaly.feature_names], dtype=np.intp)


def stored_metadata(store: ModelStore, name: str) -> ModelMetadata | None:
    """Metadata of the latest version of ``name``, or None when the store has none."""
    versions = store.versions(name)
    if not versions:
        return None
    path = store.root / name / f"v{versions[-1]:04d}" / METADATA_FILE
    try:
        return ModelMetadata.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ModelMismatchError(f"{path} is missing or corrupt: {error}") from error


def load_checked(
    store: ModelStore, name: str, kind: str, tags: Sequence[str], version: int
) -> Any | None:
    """The latest ``name`` if it is a ``kind`` model of ``version`` over ``tags``; or None."""
    metadata = stored_metadata(store, name)
    if metadata is None:
        return None
    if metadata.kind == kind and metadata.model_version != version:
        raise ModelMismatchError(
            f"model {name!r} v{metadata.version} is a {kind} model of format "
            f"{metadata.model_version}; this trustfloor reads format {version} (other features)",
            advice="train the models again with `trustfloor train`",
        )
    model = store.load(name, expected_features=metadata.features, expected_kind=kind).model
    trained_on = tuple(model.pipeline.input_tags)
    if trained_on != tuple(tags):
        raise ModelMismatchError(
            f"model {name!r} v{metadata.version} was trained on tags {list(trained_on)}, "
            f"the machines it would score have {list(tags)}"
        )
    return model


def sample_interval_of(store: ModelStore, name: str) -> float | None:
    metadata = stored_metadata(store, name)
    return None if metadata is None else metadata.metrics.get(SAMPLE_INTERVAL_METRIC)


def load_group_models(store: ModelStore, group: MachineGroup) -> GroupModels | None:
    """The stored models of ``group``; None when it has no anomaly model yet."""
    anomaly_name, rul_name = anomaly_model_name(group.name), rul_model_name(group.name)
    anomaly = load_checked(
        store, anomaly_name, AnomalyScorer.kind, group.tags, AnomalyScorer.model_version
    )
    if anomaly is None:
        return None
    rul = load_checked(store, rul_name, RulModel.kind, group.tags, RulModel.model_version)
    interval = sample_interval_of(store, anomaly_name)
    if interval is None:
        raise ModelMismatchError(f"model {anomaly_name!r} does not record {SAMPLE_INTERVAL_METRIC}")
    version = f"{anomaly_name} v{store.versions(anomaly_name)[-1]}"
    if rul is not None:
        rul_interval = sample_interval_of(store, rul_name)
        if rul_interval != interval:
            raise ModelMismatchError(
                f"{anomaly_name!r} samples every {interval} s, {rul_name!r} every {rul_interval} s"
                ": train them together"
            )
        version += f" + {rul_name} v{store.versions(rul_name)[-1]}"
    return GroupModels(anomaly, rul, float(interval), version)


def fit_baseline_scorer(samples: FloatArray, tags: Sequence[str]) -> AnomalyScorer:
    """A baseline anomaly model from ``(machines, time, tags)`` samples of a fresh start."""
    rows = samples.reshape(-1, samples.shape[2])
    pipeline = FeaturePipeline.fit(
        rows, condition_tags=(), sensor_tags=tuple(tags), windows=BOOTSTRAP_WINDOWS
    )
    if pipeline.spec.tags != tuple(tags):
        constant = sorted(set(tags) - set(pipeline.spec.tags))
        raise TrainingDataError(f"tags {constant} did not change during the baseline period")
    series = [pipeline.prepare(machine) for machine in samples]
    features = np.concatenate(list(iter_history_features(series, pipeline.spec)), axis=0)
    position = np.tile(np.arange(samples.shape[1]) + 1, samples.shape[0])
    return fit_anomaly_scorer(pipeline, features[position >= pipeline.history])
