"""Verifying several bundle files offline at once gives each file the verdict it gets alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.settings import Settings
from ledger.bundle import bundle_json
from ledger.commands import verify_bundle_file
from ledger.errors import BundleError
from ledger.logverify import verify_bundle_files
from models import ExitCode
from tests.unit.ledger.ledgerkit import DEV_ADDRESS_0, exported, sealed_store


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """Four good bundles, one whose certificate was altered, one that is not JSON."""
    store, _, serials = sealed_store(tmp_path / "site", count=5)
    paths = []
    for serial in serials:
        paths.append(tmp_path / f"{serial}.json")
        paths[-1].write_text(bundle_json(exported(store, serial)))
    store.close()
    altered = json.loads(paths[2].read_text())
    altered["certificate"]["document"]["material_lot"] = "Ti64-L0000"
    paths[2].write_text(json.dumps(altered))
    paths.append(tmp_path / "broken.json")
    paths[-1].write_text("{not json")
    return paths


async def test_each_file_gets_the_verdict_it_gets_alone(files: list[Path], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "verifier")
    issuers = tmp_path / "issuers.txt"
    issuers.write_text(DEV_ADDRESS_0 + "\n")
    together = await verify_bundle_files(files, settings, offline=True, issuers=issuers)
    alone = [
        await verify_bundle_file(path, settings, offline=True, issuers=issuers) for path in files
    ]
    assert together.output == "".join(
        f"== {path}\n{result.output}" for path, result in zip(files, alone, strict=True)
    )
    assert [r.exit_code for r in alone] == [ExitCode.OK] * 2 + [ExitCode.INVALID] + [
        ExitCode.OK
    ] * 2 + [ExitCode.INVALID]
    assert together.exit_code == ExitCode.INVALID
    assert together.report == alone[0].report


async def test_an_unreadable_file_fails_the_command(files: list[Path], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "verifier")
    with pytest.raises(BundleError, match="cannot read"):
        await verify_bundle_files(
            [files[0], tmp_path / "missing.json"], settings, offline=True, trust_any_issuer=True
        )
