"""Sealed dossiers: opened only by the site they were sealed for, under a valid licence, intact."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ledger.contract import LicenceState
from ledger.designs import load_design
from ledger.errors import SealedDossierError
from ledger.sealing import (
    check_sealed,
    opened_dossier,
    package_address,
    read_sealed,
    seal_dossier,
    site_public_key,
)
from ledger.signing import SiteKey
from tests.unit.ledger.ledgerkit import write_design

OEM = SiteKey.from_hex("0x" + "0e" * 32)
SITE_A = SiteKey.from_hex("0x" + "0a" * 32)
SITE_B = SiteKey.from_hex("0x" + "0b" * 32)
NOW = 1_796_083_200
LICENCE = LicenceState(10, 0, valid_from=NOW - 10, valid_until=NOW + 10)


@pytest.fixture
def released(tmp_path: Path) -> Path:
    return write_design(tmp_path / "released")


def sealed_for(site: SiteKey, folder: Path, oem: SiteKey = OEM) -> tuple[bytes, str]:
    package = seal_dossier(folder, site_public_key(site), oem)
    return package, package_address(package)


def check(package: bytes, address: str, site: SiteKey, folder: Path, **changes: object) -> None:
    facts: dict[str, object] = {
        "design_oem": OEM.address,
        "registered": bytes.fromhex(load_design(folder).dossier_sha256),
        "licence": LICENCE,
        "at": NOW,
    } | changes
    check_sealed(read_sealed(package, address), site.address, **facts)  # type: ignore[arg-type]


def test_the_licensed_site_opens_its_package_into_the_job_only(
    released: Path, tmp_path: Path
) -> None:
    package, address = sealed_for(SITE_A, released)
    assert released.joinpath("impeller.stl").read_bytes() not in package
    check(package, address, SITE_A, released)
    job = tmp_path / "job-1"
    with opened_dossier(read_sealed(package, address), SITE_A, job) as folder:
        assert load_design(folder).dossier_sha256 == load_design(released).dossier_sha256
        assert (folder / "impeller.stl").read_bytes() == (released / "impeller.stl").read_bytes()
    assert list(job.iterdir()) == []  # no clear copy kept after the job


def test_a_package_for_another_site_is_refused(released: Path, tmp_path: Path) -> None:
    package, address = sealed_for(SITE_A, released)
    with pytest.raises(SealedDossierError, match=f"sealed for another site \\({SITE_A.address}"):
        check(package, address, SITE_B, released)
    with (
        pytest.raises(SealedDossierError, match="cannot be opened with this site's key"),
        opened_dossier(read_sealed(package, address), SITE_B, tmp_path / "job"),
    ):
        pass


def test_no_valid_licence_no_opening(released: Path) -> None:
    package, address = sealed_for(SITE_A, released)
    expired = LicenceState(10, 0, valid_until=NOW)
    with pytest.raises(SealedDossierError, match="the licence expired at"):
        check(package, address, SITE_A, released, licence=expired)
    with pytest.raises(SealedDossierError, match="the licence is revoked"):
        check(package, address, SITE_A, released, licence=LicenceState(10, 0, revoked=True))


def test_tampered_or_forged_packages_are_refused_with_the_reason(released: Path) -> None:
    package, address = sealed_for(SITE_A, released)
    raw = json.loads(package)
    ciphertext = bytearray(base64.b64decode(raw["ciphertext"]))
    ciphertext[0] ^= 1
    raw["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    tampered = json.dumps(raw).encode()
    with pytest.raises(SealedDossierError, match="tampered: the package hashes to"):
        read_sealed(tampered, address)
    with pytest.raises(SealedDossierError, match="tampered or forged: sealed by 0x"):
        check(tampered, package_address(tampered), SITE_A, released)

    forged, forged_address = sealed_for(SITE_A, released, oem=SITE_B)
    with pytest.raises(SealedDossierError, match="not by the OEM of pump-impeller revision C"):
        check(forged, forged_address, SITE_A, released)

    with pytest.raises(SealedDossierError, match="is not the registered one"):
        check(package, address, SITE_A, released, registered=b"\x01" * 32)
