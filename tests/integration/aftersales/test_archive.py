"""An archive of a site with a recall: it verifies with the database deleted, names a tampered
file, checks its anchors online, and lets the live database prune the archived samples."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from ledger import LedgerStore
from models import ExitCode
from opcua_server.cli.main import main
from tests.integration.aftersales.kit import LOT_A, Floor, build_floor


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Floor:
    built = asyncio.run(build_floor(tmp_path_factory.mktemp("archive")))
    site = ["--config", str(built.config())]
    assert main(["recall", "create", "--lot", LOT_A, "--reason", "powder", *site]) == 0
    assert main(["recall", "close-part", "RC-0001", "P-A1", "--as", "inspected-ok", *site]) == 0
    return built


@pytest.fixture(scope="module")
def exported(floor: Floor, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exported") / "archive"
    assert main(["archive", "export", str(folder), "--config", str(floor.config())]) == 0
    return folder


def verify(capsys: pytest.CaptureFixture[str], folder: Path, *more: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["archive", "verify", str(folder), *more])
    return code, capsys.readouterr().out


def test_the_archive_holds_plain_files_and_a_manifest_of_their_digests(exported: Path) -> None:
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["format"] == "trustfloor.archive/1"
    assert manifest["counts"] == {"parts": 4, "recalls": 1}
    names = set(manifest["files"])
    assert {"certificates/P-A1.json", "evidence/P-A1.samples.json", "dossiers.json"} <= names
    assert {"recalls/RC-0001.json", "recalls/RC-0001.affected.json", "anchors.json"} <= names


def test_an_archive_verifies_with_the_database_deleted(
    floor: Floor, exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    gone = floor.data_dir.with_name("var-deleted")
    floor.data_dir.rename(gone)
    try:
        code, out = verify(capsys, copy, "--data-dir", str(tmp_path / "no-site"))
    finally:
        gone.rename(floor.data_dir)
    assert code == ExitCode.OK, out
    assert out.startswith("VALID: archive")
    assert "suspended by recall campaign RC-0001" in out  # P-A2 stays held: a note, not a fault
    assert not (tmp_path / "no-site").exists()


def test_a_tampered_file_is_named(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(exported, copy)
    samples = copy / "evidence" / "P-B1.samples.json"
    samples.write_bytes(samples.read_bytes().replace(b'"laser_power_w",', b'"laser_power_w" ,', 1))
    bundle = copy / "certificates" / "P-A2.json"
    bundle.write_text(bundle.read_text().replace('"pass"', '"PASS"', 1))
    code, out = verify(capsys, copy)
    assert code == ExitCode.INVALID
    assert "problem: evidence/P-B1.samples.json: altered" in out
    assert "evidence/P-B1.samples.json: does not hash to the evidence digest" in out
    assert "problem: certificates/P-A2.json: altered" in out


def test_anchors_check_online_against_the_chain(
    floor: Floor, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(capsys, exported, "--online", "--config", str(floor.config()))
    assert code == ExitCode.OK, out
    assert "(offline and online)" in out


def test_archived_samples_are_pruned_after_their_retention_never_the_certificates(
    floor: Floor, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = floor.config("retention.toml", "\n[archive]\nsamples_retention_days = 1\n")
    capsys.readouterr()
    assert main(["archive", "prune", "--config", str(config)]) == ExitCode.OK
    assert "pruned 320 sample(s) of 4 certified part(s)" in capsys.readouterr().out
    store = LedgerStore(floor.data_dir / floor.settings.ledger.sqlite_file)
    try:
        assert store.samples("P-A1") == []
        assert len(store.parts()) == 4
        assert store.job_by_serial("P-A1").evidence is not None
    finally:
        store.close()


def test_the_archive_proves_its_bundles_belong_to_one_append_only_log(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = json.loads((exported / "log.json").read_text())["checkpoints"]
    code, out = verify(capsys, exported)
    assert code == ExitCode.OK, out
    assert f"log.json: {len(entries)} checkpoint(s) of one append-only log" in out
    copy = tmp_path / "rewritten"
    shutil.copytree(exported, copy)
    log = json.loads((copy / "log.json").read_text())
    log["checkpoints"][-1]["consistency"][0] = "00" * 32
    (copy / "log.json").write_text(json.dumps(log))
    code, out = verify(capsys, copy)
    assert code == ExitCode.INVALID
    assert "problem: log.json: consistency proof" in out
