"""The real `trustfloor verify --offline` command: no trusted issuer, no verdict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger.bundle import bundle_json
from ledger.signing import SiteKey
from models import ExitCode
from tests.unit.ledger.ledgerkit import DEV_ADDRESS_0, FORGER, exported, sealed_store

SERIAL = "P-0001"
TRUSTFLOOR = Path(sys.executable).with_name("trustfloor")


def trustfloor(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed command, as a verifier would."""
    return subprocess.run(
        [TRUSTFLOOR, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def bundle_file(folder: Path, key: SiteKey | None) -> Path:
    """The exported bundle of a part whose certificates ``key`` signed (dev key 0 if None)."""
    folder.mkdir()
    store, _, _ = sealed_store(folder, count=3, key=key)
    path = folder / "bundle.json"
    path.write_text(bundle_json(exported(store, SERIAL)))
    store.close()
    return path


@pytest.fixture
def forged(tmp_path: Path) -> Path:
    return bundle_file(tmp_path / "forged", FORGER)


@pytest.fixture
def genuine(tmp_path: Path) -> Path:
    return bundle_file(tmp_path / "genuine", None)


def test_offline_verification_of_a_forgery_names_the_unchecked_issuer(
    forged: Path, tmp_path: Path
) -> None:
    done = trustfloor("verify", forged, "--offline", "--data-dir", tmp_path / "var", cwd=tmp_path)
    assert done.returncode == ExitCode.ISSUER_UNTRUSTED, done.stdout + done.stderr
    head = done.stdout.splitlines()[0]
    assert head.startswith(f"UNTRUSTED: part {SERIAL}: signature valid, issuer {FORGER.address}")
    assert "NOT checked" in head
    assert "verdict PASS" not in done.stdout


def test_pinned_issuers_from_a_file_accept_the_site_and_refuse_the_forgery(
    forged: Path, genuine: Path, tmp_path: Path
) -> None:
    issuers = tmp_path / "issuers.txt"
    issuers.write_text(f"# the consortium's printing sites\n{DEV_ADDRESS_0}\n")
    var = tmp_path / "var"
    accepted = trustfloor(
        "verify", genuine, "--offline", "--issuers", issuers, "--data-dir", var, cwd=tmp_path
    )
    assert accepted.returncode == ExitCode.OK, accepted.stdout + accepted.stderr
    assert accepted.stdout.startswith(f"VALID: part {SERIAL} is certified, verdict PASS")
    refused = trustfloor(
        "verify", forged, "--offline", "--issuers", issuers, "--data-dir", var, cwd=tmp_path
    )
    assert refused.returncode == ExitCode.ISSUER_UNTRUSTED
    assert f"issuer {FORGER.address} is not one of the 1 trusted issuers" in refused.stdout


def test_the_configured_trusted_issuers_are_pinned(
    forged: Path, genuine: Path, tmp_path: Path
) -> None:
    config = tmp_path / "site.toml"
    config.write_text(f'data_dir = "var"\n\n[ledger]\ntrusted_issuers = ["{DEV_ADDRESS_0}"]\n')
    accepted = trustfloor("verify", genuine, "--offline", "--config", config, cwd=tmp_path)
    assert accepted.returncode == ExitCode.OK, accepted.stdout + accepted.stderr
    refused = trustfloor("verify", forged, "--offline", "--config", config, cwd=tmp_path)
    assert refused.returncode == ExitCode.ISSUER_UNTRUSTED, refused.stdout + refused.stderr


def test_trusting_any_issuer_is_an_explicit_choice_with_a_warning(
    forged: Path, tmp_path: Path
) -> None:
    done = trustfloor(
        "verify",
        forged,
        "--offline",
        "--trust-any-issuer",
        "--data-dir",
        tmp_path / "var",
        cwd=tmp_path,
    )
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"VALID: part {SERIAL} is certified")
    assert lines[1].startswith(f"  WARNING: issuer {FORGER.address} NOT checked")


def test_a_malformed_issuers_file_is_an_error_not_a_verdict(genuine: Path, tmp_path: Path) -> None:
    issuers = tmp_path / "issuers.txt"
    issuers.write_text("0x1234\n")
    done = trustfloor(
        "verify",
        genuine,
        "--offline",
        "--issuers",
        issuers,
        "--data-dir",
        tmp_path / "var",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "issuers.txt line 1: 0x1234 is not an address" in done.stderr
    assert done.stdout == ""
