"""The printer agent's refusals: unregistered or tampered dossiers and an exhausted licence."""

from __future__ import annotations

from pathlib import Path

from ledger.agent import dossier_refusal, quota_refusal
from ledger.contract import LicenceState
from ledger.designs import load_design
from ledger.errors import DesignNotRegisteredError, DossierMismatchError, QuotaExhaustedError
from tests.unit.ledger.ledgerkit import write_design


def test_the_registered_dossier_may_be_printed(tmp_path: Path) -> None:
    dossier = load_design(write_design(tmp_path))
    assert dossier_refusal(dossier, bytes.fromhex(dossier.dossier_sha256), None) is None


def test_an_unregistered_design_is_refused(tmp_path: Path) -> None:
    dossier = load_design(write_design(tmp_path))
    refusal = dossier_refusal(dossier, None, None)
    assert isinstance(refusal, DesignNotRegisteredError)
    assert str(refusal) == "design pump-impeller revision C is not registered on chain"
    assert "register" in refusal.advice


def test_a_tampered_dossier_is_refused_naming_both_hashes_and_the_file(tmp_path: Path) -> None:
    registered = load_design(write_design(tmp_path / "released"))
    tampered = load_design(write_design(tmp_path / "local", model=b"solid, thinner wall"))
    on_chain = bytes.fromhex(registered.dossier_sha256)
    refusal = dossier_refusal(tampered, on_chain, registered)
    assert isinstance(refusal, DossierMismatchError)
    assert str(refusal) == (
        f"the local dossier of design pump-impeller revision C hashes to "
        f"{tampered.dossier_sha256}, the chain registers {registered.dossier_sha256}; "
        "files that differ from the registered dossier: impeller.stl"
    )
    assert "Do not print" in refusal.advice
    # without the registered dossier at hand, the hashes alone still say what differed
    assert str(dossier_refusal(tampered, on_chain, None)).endswith(registered.dossier_sha256)


def test_the_quota_counts_pieces_printed_but_not_yet_anchored() -> None:
    assert quota_refusal("d", LicenceState(quota=5, used=3), unanchored=1) is None
    refusal = quota_refusal("design x revision A", LicenceState(quota=5, used=3), unanchored=2)
    assert isinstance(refusal, QuotaExhaustedError)
    assert str(refusal) == (
        "the licence for design x revision A allows 5 pieces: 3 anchored and 2 printed but "
        "not yet anchored leave no room for 1 more"
    )
    assert quota_refusal("d", LicenceState(quota=2, used=5), unanchored=0) is not None
    assert quota_refusal("d", LicenceState(quota=0, used=0), unanchored=0) is not None
