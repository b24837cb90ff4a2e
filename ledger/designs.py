"""Design folders (DVI): the manifest, file digests and the dossier hash registered on chain."""

# =================================================================================================
# CONSENSUS-CRITICAL, FROZEN FORMAT: the dossier document below is hashed, and its hash is
# registered on chain by the OEM; printer agents recompute it before every job. Changing the
# document's layout changes every dossier hash and refuses every registered design.
# tests/unit/ledger/test_designs.py pins a digest.
# =================================================================================================

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ledger.canonical import JsonObject, JsonValue, canonical_digest, design_key
from ledger.errors import DesignError
from models import DesignDossier, DesignFile, FileRole, ParameterWindow

if TYPE_CHECKING:
    from ledger.chain import ChainClient

DOSSIER_SCHEMA = "trustfloor.dossier/1"
MANIFEST_NAMES = ("design.toml", "design.json")
"""The manifest of a design folder; the first one present is read."""


def load_design(folder: Path) -> DesignDossier:
    """Read a design folder: its manifest, the digest of every file it names, the dossier hash.

    The manifest names ``id``, ``revision``, optional ``name``, ``files`` (``path`` relative to
    the folder, ``role`` model / recipe / document) and ``process_window`` (per parameter
    ``min``, ``max``, ``unit``, ``tolerance_s``). Raises DesignError naming every problem.
    """
    manifest_path = _manifest_path(folder)
    raw = _read_manifest(manifest_path)
    files = [_describe_file(folder, entry, i) for i, entry in enumerate(_entries(raw))]
    fields = {k: v for k, v in raw.items() if k != "files"}
    try:
        unhashed = DesignDossier.model_validate(
            fields | {"files": files, "dossier_sha256": "0" * 64}
        )
    except ValidationError as exc:
        raise DesignError(_problems(manifest_path, exc)) from None
    return unhashed.model_copy(update={"dossier_sha256": dossier_hash(unhashed).hex()})


def dossier_document(design: DesignDossier) -> JsonObject:
    """The frozen canonical document whose SHA-256 is the dossier hash (files sorted by path)."""
    files: list[JsonValue] = [
        {"path": f.path, "role": f.role.value, "sha256": f.sha256, "size": f.size}
        for f in sorted(design.files, key=lambda f: f.path)
    ]
    window: JsonObject = {
        name: _window_document(w) for name, w in sorted(design.process_window.items())
    }
    return {
        "schema": DOSSIER_SCHEMA,
        "id": design.id,
        "revision": design.revision,
        "name": design.name,
        "files": files,
        "process_window": window,
    }


def dossier_hash(design: DesignDossier) -> bytes:
    """SHA-256 of the RFC 8785 form of :func:`dossier_document`: what the chain registers."""
    return canonical_digest(dossier_document(design))


def changed_files(local: DesignDossier, registered: DesignDossier) -> list[str]:
    """Paths whose content, role or presence differs between two dossiers, sorted."""
    mine = {f.path: f for f in local.files}
    theirs = {f.path: f for f in registered.files}
    return sorted(p for p in mine.keys() | theirs.keys() if mine.get(p) != theirs.get(p))


def design_folder(designs_dir: Path, design_id: str, revision: str) -> Path:
    """Where a site keeps a design revision: ``<designs_dir>/<id>/<revision>``."""
    return designs_dir / design_id / revision


def _window_document(window: ParameterWindow) -> JsonObject:
    return {
        "min": window.min,
        "max": window.max,
        "unit": window.unit,
        "tolerance_s": window.tolerance_s,
    }


def _manifest_path(folder: Path) -> Path:
    for name in MANIFEST_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise DesignError(f"{folder}: no {' or '.join(MANIFEST_NAMES)} in the design folder")


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise DesignError(f"{path}: cannot read the manifest: {exc}") from None
    if not isinstance(raw, dict):
        raise DesignError(f"{path}: the manifest is not a table of fields")
    return raw


def _entries(raw: dict[str, Any]) -> list[dict[str, Any]]:
    entries = raw.get("files")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DesignError("the manifest needs a list of files, each with path and role")
    return entries


def _describe_file(folder: Path, entry: dict[str, Any], index: int) -> DesignFile:
    """The digest and size of one listed file, which must be a regular file in the folder."""
    relative = str(entry.get("path", ""))
    target = (folder / relative).resolve()
    if not relative or not target.is_relative_to(folder.resolve()):
        raise DesignError(f"files[{index}].path: {relative!r} is not a path inside {folder}")
    if not target.is_file():
        raise DesignError(f"files[{index}].path: {relative} is missing from {folder}")
    try:
        role = FileRole(str(entry.get("role")))
    except ValueError:
        roles = ", ".join(r.value for r in FileRole)
        raise DesignError(f"files[{index}].role: must be one of {roles}") from None
    with target.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return DesignFile(
        path=Path(relative).as_posix(), role=role, sha256=digest, size=target.stat().st_size
    )


def _problems(path: Path, error: ValidationError) -> str:
    lines = [
        f"  {'.'.join(str(p) for p in item['loc']) or '(top level)'}: {item['msg']}"
        for item in error.errors(include_url=False)
    ]
    return f"{path}: {len(lines)} problem(s)\n" + "\n".join(lines)


async def register_dossier_once(chain: ChainClient, dossier: DesignDossier) -> str | None:
    """Register ``dossier``'s hash on chain unless it is there; the transaction hash, or None
    when that dossier was registered already. A different dossier already registered under
    the same id and revision raises DesignError (a registered dossier never changes)."""
    key = design_key(dossier.id, dossier.revision)
    registered = await chain.dossier_hash(key)
    if registered is None:
        outcome = await chain.register_design(
            dossier.id, dossier.revision, bytes.fromhex(dossier.dossier_sha256)
        )
        return "0x" + outcome.tx_hash.hex()
    if registered.hex() != dossier.dossier_sha256:
        raise DesignError(
            f"design {dossier.id} revision {dossier.revision} is registered with dossier "
            f"{registered.hex()}, the folder hashes to {dossier.dossier_sha256}",
            advice="A registered dossier never changes: give the changed design a new "
            "revision and register that.",
        )
    return None
