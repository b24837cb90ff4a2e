"""Design folders: manifests, file digests, the frozen dossier hash, and every refusal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ledger.canonical import canonical_json
from ledger.designs import changed_files, dossier_document, dossier_hash, load_design
from ledger.errors import DesignError
from models.parts import FileRole
from tests.unit.ledger.ledgerkit import WINDOW, write_design


def test_a_design_folder_becomes_a_dossier_with_file_digests(tmp_path: Path) -> None:
    dossier = load_design(write_design(tmp_path))
    assert (dossier.id, dossier.revision, dossier.name) == (
        "pump-impeller",
        "C",
        "Coolant pump impeller",
    )
    model = next(f for f in dossier.files if f.role is FileRole.MODEL)
    assert model.path == "impeller.stl"
    assert model.sha256 == hashlib.sha256(b"solid").hexdigest()
    assert model.size == 5
    assert dossier.process_window == WINDOW
    assert dossier.dossier_sha256 == dossier_hash(dossier).hex()


def test_the_dossier_hash_is_pinned(tmp_path: Path) -> None:
    # FROZEN: the chain registers this hash; a layout change would refuse every design.
    dossier = load_design(write_design(tmp_path))
    document = dossier_document(dossier)
    assert list(document) == ["schema", "id", "revision", "name", "files", "process_window"]
    window = (
        '"process_window":{"bed_temp_c":{"max":185,"min":175,"tolerance_s":0,"unit":"Cel"},'
        '"chamber_o2_ppm":{"max":1000,"min":0,"tolerance_s":2,"unit":"ppm"},'
        '"laser_power_w":{"max":290,"min":270,"tolerance_s":0,"unit":"W"},'
        '"layer_time_s":{"max":40,"min":5,"tolerance_s":0,"unit":"s"}}'
    )
    expected = (
        '{"files":[{"path":"impeller.stl","role":"model","sha256":'
        f'"{hashlib.sha256(b"solid").hexdigest()}","size":5}},'
        '{"path":"recipe.json","role":"recipe","sha256":'
        '"6508ce4a5aca2c726e89791b83c1718d690298d1afea5eeef2ad1f8f490774bd","size":37}],'
        '"id":"pump-impeller","name":"Coolant pump impeller",'
        f'{window},"revision":"C","schema":"trustfloor.dossier/1"}}'
    )
    assert canonical_json(document) == expected.encode()
    assert dossier.dossier_sha256 == (
        "3ff3cdff2c9040cb6601476a1c5e2eb25d6a6fc43d3277668f72472bbdc70e6e"
    )


def test_a_json_manifest_gives_the_same_dossier(tmp_path: Path) -> None:
    toml_folder = write_design(tmp_path / "toml")
    json_folder = write_design(tmp_path / "json")
    (json_folder / "design.toml").unlink()
    manifest = {
        "id": "pump-impeller",
        "revision": "C",
        "name": "Coolant pump impeller",
        "files": [
            {"path": "impeller.stl", "role": "model"},
            {"path": "recipe.json", "role": "recipe"},
        ],
        "process_window": {name: w.model_dump() for name, w in WINDOW.items()},
    }
    (json_folder / "design.json").write_text(json.dumps(manifest))
    assert load_design(json_folder) == load_design(toml_folder)


def test_any_changed_byte_changes_the_hash_and_names_the_file(tmp_path: Path) -> None:
    registered = load_design(write_design(tmp_path / "a"))
    tampered = load_design(write_design(tmp_path / "b", model=b"solie"))
    assert tampered.dossier_sha256 != registered.dossier_sha256
    assert changed_files(tampered, registered) == ["impeller.stl"]


def test_the_process_window_is_part_of_the_dossier(tmp_path: Path) -> None:
    folder = write_design(tmp_path)
    before = load_design(folder)
    manifest = folder / "design.toml"
    manifest.write_text(manifest.read_text().replace("max = 290.0", "max = 295.0"))
    after = load_design(folder)
    assert after.dossier_sha256 != before.dossier_sha256
    assert changed_files(after, before) == []  # same files: the window differs


def change(folder: Path, old: str, new: str) -> Path:
    manifest = folder / "design.toml"
    manifest.write_text(manifest.read_text().replace(old, new, 1))
    return folder


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('path = "impeller.stl"', 'path = "missing.stl"', "missing.stl is missing"),
        ('path = "impeller.stl"', 'path = "../outside.stl"', "is not a path inside"),
        ('role = "recipe"', 'role = "firmware"', "must be one of model, recipe, document"),
        ('role = "recipe"', 'role = "document"', "needs a recipe file"),
        ("max = 290.0", "max = 260.0", "must not exceed max"),
        ('revision = "C"', 'revision = "C D"', "revision"),
        ('id = "pump-impeller"', 'id = "pump impeller"', "id"),
    ],
)
def test_broken_manifests_are_refused_with_the_problem(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    folder = change(write_design(tmp_path), old, new)
    with pytest.raises(DesignError, match=message) as caught:
        load_design(folder)
    assert "design.toml" in caught.value.advice


def test_a_folder_without_a_manifest_or_with_a_broken_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DesignError, match=r"no design\.toml or design\.json"):
        load_design(tmp_path)
    (tmp_path / "design.toml").write_text("id = ")
    with pytest.raises(DesignError, match="cannot read the manifest"):
        load_design(tmp_path)
    (tmp_path / "design.toml").write_text('id = "x"\nfiles = "none"')
    with pytest.raises(DesignError, match="needs a list of files"):
        load_design(tmp_path)
