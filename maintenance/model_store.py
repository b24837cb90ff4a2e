"""Versioned model artefacts on disk: a pickle plus a JSON metadata file per version."""

# Layout under the store's root (``<data dir>/models`` in the product)::
#
#     <name>/v0001/model.pkl        the fitted model (pickle protocol 5)
#     <name>/v0001/metadata.json    ModelMetadata: features, digests, metrics, library versions
#
# ``load`` validates before it unpickles: the metadata must parse and validate, the artefact's
# SHA-256 must match the one recorded and the feature list must equal what the caller will
# provide. After unpickling, the model itself must agree with its metadata (the pickle embeds a
# copy), so a hand-edited metadata file is refused too. The SHA-256 guards against corruption and
# accidental edits, not against someone who can rewrite both files: pickles execute code when
# loaded, so the models directory must be writable only by trustfloor.
#
# Format 2 artefacts hold numpy arrays, the project's own classes and the RUL trees as an ONNX
# graph: no scikit-learn, SciPy or pandas object, so scoring loads them without those libraries
# (``save`` refuses a model holding one, and ``load`` refuses an artefact naming one). Format 1
# artefacts (the RUL model held scikit-learn's estimator) still load when the scikit-learn that
# trained them is installed: unpickling imports it, and the RUL trees are converted on the way.

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from pydantic import AwareDatetime, Field, ValidationError

from maintenance.errors import ModelMismatchError, ModelStoreError
from models import Frozen

if TYPE_CHECKING:
    import pandas as pd

FORMAT_VERSION = 2
"""Version of the on-disk layout, metadata schema and artefact contents written now."""
SKLEARN_FORMAT = 1
"""The format whose artefacts hold scikit-learn objects; still read (converted on load)."""
READABLE_FORMATS = (SKLEARN_FORMAT, FORMAT_VERSION)
TRAINING_LIBRARIES = frozenset({"sklearn", "scipy", "pandas"})
"""Libraries whose objects a format 2 artefact may not hold: training needs them, scoring not."""
ARTEFACT_FILE = "model.pkl"
METADATA_FILE = "metadata.json"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
_VERSION_DIR = re.compile(r"^v(\d{4,})$")
_TRACKED_LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "pydantic", "onnxruntime")


class StorableModel(Protocol):
    """What the store needs from a model: its kind, version and the features it consumes."""

    @property
    def kind(self) -> str: ...

    @property
    def model_version(self) -> int: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...


class ModelMetadata(Frozen):
    """Everything needed to decide whether a stored model may score the caller's data."""

    format_version: int = FORMAT_VERSION
    name: str = Field(pattern=_NAME.pattern)
    version: int = Field(ge=1)
    kind: str = Field(min_length=1)
    model_class: str
    model_version: int = Field(ge=1)
    features: tuple[str, ...] = Field(min_length=1)
    training_data_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    artefact_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    metrics: dict[str, float] = Field(default_factory=dict)
    library_versions: dict[str, str]
    created_at: AwareDatetime


class StoredModel(Frozen):
    """A loaded model with the metadata it was validated against."""

    model: Any
    metadata: ModelMetadata


def dataset_digest(table: pd.DataFrame | np.ndarray) -> str:
    """SHA-256 of a training table: column names, shape and float64 values (C order)."""
    digest = hashlib.sha256()
    if isinstance(table, np.ndarray):
        values = np.asarray(table, dtype=np.float64)
    else:
        digest.update(json.dumps([str(c) for c in table.columns]).encode())
        values = table.to_numpy(dtype=np.float64)
    digest.update(json.dumps(list(values.shape)).encode())
    digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a pickled model depends on."""
    versions = {"python": platform.python_version()}
    for library in _TRACKED_LIBRARIES:
        try:
            versions[library] = package_metadata.version(library)
        except package_metadata.PackageNotFoundError:
            versions[library] = "absent"
    return versions


class ModelStore:
    """Saves and loads versioned models under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def versions(self, name: str) -> list[int]:
        """Stored versions of ``name``, ascending."""
        directory = self.root / _checked_name(name)
        if not directory.is_dir():
            return []
        found = (_VERSION_DIR.match(child.name) for child in directory.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def save(
        self,
        name: str,
        model: StorableModel,
        *,
        training_data_sha256: str,
        metrics: Mapping[str, float] | None = None,
        now: datetime | None = None,
    ) -> ModelMetadata:
        """Store ``model`` as the next version of ``name`` and return its metadata."""
        version = (self.versions(name) or [0])[-1] + 1
        bare = ModelMetadata(
            name=_checked_name(name),
            version=version,
            kind=model.kind,
            model_class=f"{type(model).__module__}.{type(model).__qualname__}",
            model_version=model.model_version,
            features=tuple(model.feature_names),
            training_data_sha256=training_data_sha256,
            artefact_sha256="0" * 64,
            metrics=dict(metrics or {}),
            library_versions=library_versions(),
            created_at=now or datetime.now(UTC),
        )
        artefact = pickle.dumps(
            {"metadata": _comparable(bare), "model": model}, protocol=pickle.HIGHEST_PROTOCOL
        )
        _scoring_unpickler(artefact).load()  # refuses objects of the training libraries
        final = bare.model_copy(update={"artefact_sha256": hashlib.sha256(artefact).hexdigest()})
        self._write_version(name, version, artefact, final)
        return final

    def load(
        self,
        name: str,
        *,
        expected_features: Sequence[str],
        version: int | None = None,
        expected_kind: str | None = None,
    ) -> StoredModel:
        """The model ``name`` (latest version unless given) if it fits the caller's features.

        Raises ``ModelMismatchError`` when the metadata is missing or corrupt, the artefact does
        not match it, the features differ from ``expected_features``, the kind differs from
        ``expected_kind``, or an artefact of format 1 was trained with another scikit-learn.
        """
        directory = self._version_directory(name, version)
        metadata = _read_metadata(directory)
        _check_compatible(metadata, expected_features, expected_kind)
        artefact = _read_artefact(directory, metadata)
        model = _unpickle_checked(artefact, metadata)
        return StoredModel(model=model, metadata=metadata)

    def metadata(self, name: str, version: int | None = None) -> ModelMetadata:
        """The metadata of ``name`` (latest version unless given), without loading the model."""
        return _read_metadata(self._version_directory(name, version))

    def copy_from(self, other: ModelStore, name: str) -> ModelMetadata:
        """Store ``other``'s latest ``name`` here as the next version (older ones are kept)."""
        metadata = other.metadata(name)
        stored = other.load(name, expected_features=metadata.features)
        return self.save(
            name,
            stored.model,
            training_data_sha256=metadata.training_data_sha256,
            metrics=metadata.metrics,
            now=metadata.created_at,
        )

    def _version_directory(self, name: str, version: int | None) -> Path:
        versions = self.versions(name)
        if not versions:
            raise ModelStoreError(f"no stored model called {name!r} under {self.root}")
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise ModelStoreError(f"model {name!r} has no version {chosen} (has {versions})")
        return self.root / name / f"v{chosen:04d}"

    def _write_version(
        self, name: str, version: int, artefact: bytes, metadata: ModelMetadata
    ) -> None:
        """Write both files into a temporary directory, then rename it into place."""
        parent = self.root / name
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
        try:
            _write_synced(staging / ARTEFACT_FILE, artefact)
            _write_synced(staging / METADATA_FILE, metadata.model_dump_json(indent=2).encode())
            staging.rename(parent / f"v{version:04d}")
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise ModelStoreError(f"cannot store model {name!r} v{version}: {error}") from error


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise ModelStoreError(f"model name {name!r} must match {_NAME.pattern}")
    return name


def _write_synced(path: Path, content: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _comparable(metadata: ModelMetadata) -> dict[str, Any]:
    """Metadata as JSON-compatible data, without the artefact digest (unknown when pickling)."""
    data: dict[str, Any] = json.loads(metadata.model_dump_json())
    data.pop("artefact_sha256")
    return data


def _read_metadata(directory: Path) -> ModelMetadata:
    path = directory / METADATA_FILE
    try:
        return ModelMetadata.model_validate_json(path.read_bytes())
    except FileNotFoundError as error:
        raise ModelMismatchError(
            f"{path} is missing: the stored model cannot be trusted"
        ) from error
    except (ValidationError, ValueError, OSError) as error:
        raise ModelMismatchError(f"{path} is corrupt: {error}") from error


def _check_compatible(
    metadata: ModelMetadata, expected_features: Sequence[str], expected_kind: str | None
) -> None:
    if metadata.format_version not in READABLE_FORMATS:
        raise ModelMismatchError(
            f"model store format {metadata.format_version}, this trustfloor reads "
            f"{' and '.join(map(str, READABLE_FORMATS))}"
        )
    if expected_kind is not None and metadata.kind != expected_kind:
        raise ModelMismatchError(f"stored model is a {metadata.kind!r}, not a {expected_kind!r}")
    _check_features(metadata.features, tuple(expected_features))
    if metadata.format_version == SKLEARN_FORMAT:
        _check_same_scikit_learn(metadata)


def _check_same_scikit_learn(metadata: ModelMetadata) -> None:
    """A format 1 artefact holds scikit-learn objects: only the version that pickled them reads
    them safely."""
    trained_with = metadata.library_versions.get("scikit-learn")
    installed = library_versions()["scikit-learn"]
    if trained_with != installed:
        raise ModelMismatchError(
            f"model trained with scikit-learn {trained_with}, {installed} is installed"
        )


def _check_features(stored: tuple[str, ...], expected: tuple[str, ...]) -> None:
    if stored == expected:
        return
    missing = [f for f in stored if f not in set(expected)]
    extra = [f for f in expected if f not in set(stored)]
    if not missing and not extra:
        detail = "the same features in another order"
    else:
        detail = f"model needs {_sample(missing)} not provided; provided {_sample(extra)} unused"
    raise ModelMismatchError(
        f"feature mismatch ({len(stored)} stored, {len(expected)} provided): {detail}"
    )


def _sample(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return f"[{shown}{more}]"


def _read_artefact(directory: Path, metadata: ModelMetadata) -> bytes:
    path = directory / ARTEFACT_FILE
    try:
        artefact = path.read_bytes()
    except OSError as error:
        raise ModelMismatchError(f"cannot read {path}: {error}") from error
    if hashlib.sha256(artefact).hexdigest() != metadata.artefact_sha256:
        raise ModelMismatchError(f"{path} does not match the SHA-256 in its metadata")
    return artefact


class _ScoringUnpickler(pickle.Unpickler):
    """Unpickles a format 2 artefact, refusing any class of the training libraries."""

    def find_class(self, module_name: str, global_name: str) -> Any:
        if module_name.split(".")[0] in TRAINING_LIBRARIES:
            raise ModelStoreError(
                f"the model holds a {module_name}.{global_name}: stored models may hold no "
                f"object of {', '.join(sorted(TRAINING_LIBRARIES))} (scoring does not load them)",
                advice="keep only numpy arrays and the fitted values in the model",
            )
        return super().find_class(module_name, global_name)


def _scoring_unpickler(artefact: bytes) -> pickle.Unpickler:
    return _ScoringUnpickler(BytesIO(artefact))


def _unpickle_checked(artefact: bytes, metadata: ModelMetadata) -> Any:
    try:
        if metadata.format_version == SKLEARN_FORMAT:
            bundle = pickle.loads(artefact)
        else:
            bundle = _scoring_unpickler(artefact).load()
    except Exception as error:
        raise ModelMismatchError(f"stored model cannot be unpickled: {error}") from error
    if not isinstance(bundle, dict) or bundle.get("metadata") != _comparable(metadata):
        raise ModelMismatchError("metadata file differs from the metadata sealed in the artefact")
    model = bundle["model"]
    if tuple(getattr(model, "feature_names", ())) != metadata.features:
        raise ModelMismatchError("the stored model's own feature list differs from its metadata")
    return model
