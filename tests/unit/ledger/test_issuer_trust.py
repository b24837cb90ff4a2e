"""Offline verification needs a trust anchor: pinned issuers, or any issuer by explicit choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.commands import (
    exit_code,
    render_report,
)
from ledger.errors import TrustedIssuersError
from ledger.signing import SiteKey
from ledger.trust import NO_ISSUER_PINNED, IssuerTrust, parse_issuers
from ledger.verify import ISSUER_TRUST, issuer_untrusted, verify_offline
from models import ExitCode
from models.parts import ProofBundle, VerificationReport
from tests.unit.ledger.ledgerkit import DEV_ADDRESS_0, FORGER, exported, sealed_store

SERIAL = "P-0001"
BYSTANDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def exported_by(folder: Path, key: SiteKey | None) -> ProofBundle:
    store, _, _ = sealed_store(folder, count=3, key=key)
    bundle = exported(store, SERIAL)
    store.close()
    return bundle


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> ProofBundle:
    return exported_by(tmp_path_factory.mktemp("genuine"), None)


@pytest.fixture(scope="module")
def forged(tmp_path_factory: pytest.TempPathFactory) -> ProofBundle:
    return exported_by(tmp_path_factory.mktemp("forged"), FORGER)


def failed(report: VerificationReport) -> list[str]:
    return [c.name for c in report.checks if not c.passed]


def test_a_forgery_with_no_issuer_pinned_is_not_trusted(forged: ProofBundle) -> None:
    report = verify_offline(forged, trust=NO_ISSUER_PINNED)
    assert not report.valid
    assert failed(report) == [ISSUER_TRUST]
    assert report.reasons[0].startswith(f"issuer trust: issuer {FORGER.address} NOT checked")
    assert issuer_untrusted(report)
    assert exit_code(report) == ExitCode.ISSUER_UNTRUSTED
    head = render_report(report).splitlines()[0]
    assert head.startswith(f"UNTRUSTED: part {SERIAL}: signature valid, issuer ")
    assert "VALID" not in head.replace("UNTRUSTED", "")


def test_a_forgery_is_refused_by_the_pinned_issuers(forged: ProofBundle) -> None:
    report = verify_offline(forged, trust=IssuerTrust.pinning([DEV_ADDRESS_0, BYSTANDER]))
    assert failed(report) == [ISSUER_TRUST]
    assert f"issuer {FORGER.address} is not one of the 2 trusted issuers" in report.reasons[0]
    assert exit_code(report) == ExitCode.ISSUER_UNTRUSTED


def test_a_genuine_bundle_verifies_against_its_pinned_issuer(genuine: ProofBundle) -> None:
    report = verify_offline(genuine, trust=IssuerTrust.pinning([DEV_ADDRESS_0.lower()]))
    assert report.valid, report.reasons
    assert report.warnings == ()
    [trust] = [c for c in report.checks if c.name == ISSUER_TRUST]
    assert trust.detail == f"issuer {DEV_ADDRESS_0} is one of the 1 trusted issuers"
    assert exit_code(report) == ExitCode.OK
    assert "WARNING" not in render_report(report)


def test_trusting_any_issuer_is_valid_with_a_warning(forged: ProofBundle) -> None:
    report = verify_offline(forged, trust=IssuerTrust(any_issuer=True))
    assert report.valid, report.reasons
    assert exit_code(report) == ExitCode.OK
    [warning] = report.warnings
    assert warning.startswith(f"issuer {FORGER.address} NOT checked: any issuer is accepted")
    lines = render_report(report).splitlines()
    assert lines[0].startswith(f"VALID: part {SERIAL} is certified")
    assert lines[1] == f"  WARNING: {warning}"


def test_pinned_issuers_win_over_trusting_any(forged: ProofBundle) -> None:
    trust = IssuerTrust.pinning([DEV_ADDRESS_0], any_issuer=True)
    assert failed(verify_offline(forged, trust=trust)) == [ISSUER_TRUST]


def test_a_tampered_forgery_stays_invalid_not_untrusted(forged: ProofBundle) -> None:
    document = forged.certificate.document | {"material_lot": "Ti64-L0000"}
    record = forged.certificate.model_copy(update={"document": document})
    report = verify_offline(
        forged.model_copy(update={"certificate": record}), trust=IssuerTrust(any_issuer=True)
    )
    assert failed(report) == ["certificate content"]
    assert not issuer_untrusted(report)
    assert exit_code(report) == ExitCode.INVALID


# --------------------------------------------------------------------------- the issuers file


def test_the_text_format_takes_one_address_per_line_with_comments() -> None:
    text = f"# consortium sites, 2026\n{DEV_ADDRESS_0}   # plant A\n\n  {BYSTANDER.lower()}\n"
    assert parse_issuers(text, "issuers.txt") == (DEV_ADDRESS_0, BYSTANDER)


def test_the_json_format_is_a_list_or_an_object_with_issuers() -> None:
    listed = json.dumps([DEV_ADDRESS_0, BYSTANDER])
    wrapped = json.dumps({"issuers": [DEV_ADDRESS_0, BYSTANDER]})
    assert parse_issuers(listed, "a.json") == parse_issuers(wrapped, "b.json")
    assert parse_issuers(listed, "a.json") == (DEV_ADDRESS_0, BYSTANDER)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "issuers.txt names no issuer address"),
        ("# only a comment\n", "issuers.txt names no issuer address"),
        (f"{DEV_ADDRESS_0}\n0x1234\n", "issuers.txt line 2: 0x1234 is not an address"),
        (
            f"{DEV_ADDRESS_0.replace('F', 'f', 1)}\n",
            "issuers.txt line 1: 0xf39fd6e51aad88F6F4ce6aB8827279cffFb92266 fails its EIP-55",
        ),
        ('["0xnot"]', "issuers.txt item 1: 0xnot is not an address"),
        ('{"sites": []}', "issuers.txt: not a trusted issuer list"),
        ("[[[[1]]]]", "issuers.txt: not a trusted issuer list"),
        ("[" * 100_000 + "]" * 100_000, "issuers.txt: not a trusted issuer list"),
    ],
)
def test_a_malformed_list_names_its_problem(text: str, message: str) -> None:
    with pytest.raises(TrustedIssuersError, match=message.replace("(", r"\(")):
        parse_issuers(text, "issuers.txt")


def test_pinning_a_malformed_configured_address_fails() -> None:
    with pytest.raises(TrustedIssuersError, match=r"ledger\.trusted_issuers item 1"):
        IssuerTrust.pinning(["0x" + "zz" * 20], source="ledger.trusted_issuers")
