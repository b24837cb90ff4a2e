"""A bundle's QBFT anchor header checked offline against pinned validators (--validators)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from coincurve import PrivateKey

from config.settings import ChainSettings, Settings
from ledger.anchorheaders import PinnedValidators, ValidatorListError, pinned_validators
from ledger.bundle import bundle_json
from ledger.qbft import BlockHeader, onchain_hash
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline
from models import ExitCode, ProofBundle, VerificationReport
from opcua_server.cli.main import main
from tests.unit.ledger.ledgerkit import exported, sealed_store
from tests.unit.ledger.qbftkit import KEYS, OUTSIDER, VALIDATORS, sealed

SERIAL = "P-0001"
ANCHOR_BLOCK = 7
"""The block ledgerkit's receipts name."""
PINNED = PinnedValidators(tuple(VALIDATORS), "the test's validators")
ANY_ISSUER = IssuerTrust(any_issuer=True)


@pytest.fixture(scope="module")
def anvil_bundle(tmp_path_factory: pytest.TempPathFactory) -> ProofBundle:
    """A bundle whose receipt carries no header, as one anchored on anvil."""
    store, _, _ = sealed_store(tmp_path_factory.mktemp("ledger"), count=3)
    bundle = exported(store, SERIAL)
    store.close()
    return bundle


def with_header(bundle: ProofBundle, header: BlockHeader) -> ProofBundle:
    """``bundle`` as anchored on a QBFT chain whose block is ``header``."""
    anchor = bundle.certificate.anchor
    assert anchor is not None
    carried = anchor.model_copy(update={"block_header": "0x" + header.rlp().hex()})
    certificate = bundle.certificate.model_copy(update={"anchor": carried})
    return bundle.model_copy(update={"certificate": certificate})


def qbft_block(signers: list[PrivateKey], number: int = ANCHOR_BLOCK) -> BlockHeader:
    return sealed(signers, number=hex(number))


def seal_check(report: VerificationReport) -> tuple[bool, str]:
    [check] = [c for c in report.checks if c.name == "certificate QBFT seals"]
    return check.passed, check.detail


def test_a_header_survives_its_rlp() -> None:
    header = qbft_block(KEYS)
    again = BlockHeader.from_rlp(header.rlp())
    assert (again.fields, again.extra, again.number) == (header.fields, header.extra, ANCHOR_BLOCK)


def test_an_anchor_sealed_by_the_pinned_validators_verifies(anvil_bundle: ProofBundle) -> None:
    header = qbft_block(KEYS)
    report = verify_offline(with_header(anvil_bundle, header), trust=ANY_ISSUER, validators=PINNED)
    assert report.valid, report.reasons
    passed, detail = seal_check(report)
    assert passed
    assert f"block 7 (hash 0x{onchain_hash(header).hex()}) sealed by 4 of 4" in detail


@pytest.mark.parametrize(
    ("header", "finding"),
    [
        (qbft_block(KEYS[:2]), "block 7: 2 validator seals, 3 needed of 4"),
        (qbft_block([*KEYS[:3], OUTSIDER]), "sealed but is not a pinned validator"),
        (qbft_block(KEYS, number=8), "the header is block 8, the receipt says 7"),
    ],
    ids=["one-seal-short", "outsider", "another-block"],
)
def test_an_anchor_not_finalised_by_the_pinned_validators_fails(
    anvil_bundle: ProofBundle, header: BlockHeader, finding: str
) -> None:
    report = verify_offline(with_header(anvil_bundle, header), trust=ANY_ISSUER, validators=PINNED)
    assert not report.valid
    passed, detail = seal_check(report)
    assert not passed
    assert finding in detail


def test_a_header_changed_after_sealing_fails(anvil_bundle: ProofBundle) -> None:
    header = qbft_block(KEYS)
    fields = list(header.fields)
    fields[10] = 21_000  # gasUsed nobody sealed
    tampered = BlockHeader(tuple(fields), header.extra, header.number)
    report = verify_offline(
        with_header(anvil_bundle, tampered), trust=ANY_ISSUER, validators=PINNED
    )
    assert not seal_check(report)[0]


def test_an_anvil_anchor_carries_no_header_and_verify_says_so(anvil_bundle: ProofBundle) -> None:
    assert verify_offline(anvil_bundle, trust=ANY_ISSUER).valid
    report = verify_offline(anvil_bundle, trust=ANY_ISSUER, validators=PINNED)
    assert not report.valid
    passed, detail = seal_check(report)
    assert not passed
    assert "carries no QBFT block header" in detail


def test_verify_validators_file_gives_the_exit_code(
    anvil_bundle: ProofBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    validators = tmp_path / "validators.txt"
    validators.write_text(
        "# the consortium's QBFT validators\n" + "\n".join("0x" + v.hex() for v in VALIDATORS)
    )
    good, bad = tmp_path / "good.json", tmp_path / "short.json"
    good.write_text(bundle_json(with_header(anvil_bundle, qbft_block(KEYS))))
    bad.write_text(bundle_json(with_header(anvil_bundle, qbft_block(KEYS[:2]))))
    common = ["--offline", "--trust-any-issuer", "--data-dir", str(tmp_path / "var")]
    assert main(["verify", str(good), *common, "--validators", str(validators)]) == ExitCode.OK
    assert "✓ certificate QBFT seals" in capsys.readouterr().out
    short = main(["verify", str(bad), *common, "--validators", str(validators)])
    assert short == ExitCode.INVALID
    assert "✗ certificate QBFT seals" in capsys.readouterr().out


def test_a_validator_list_is_text_or_json_and_refuses_what_is_not_an_address() -> None:
    addresses = ["0x" + v.hex() for v in VALIDATORS]
    text = PinnedValidators.parse("\n".join(f"{a}  # v{n}" for n, a in enumerate(addresses)), "t")
    assert text.addresses == tuple(VALIDATORS)
    assert PinnedValidators.parse(json.dumps(addresses), "j").addresses == tuple(VALIDATORS)
    for bad in ("0x1234", "[]", json.dumps([addresses[0], addresses[0]]), "[1]"):
        with pytest.raises(ValidatorListError):
            PinnedValidators.parse(bad, "bad")


def test_the_configured_validators_are_pinned_unless_a_file_is_given(tmp_path: Path) -> None:
    addresses = tuple("0x" + v.hex() for v in VALIDATORS)
    configured = Settings(chain=ChainSettings(validators=addresses))
    pinned = pinned_validators(configured, None)
    assert pinned is not None
    assert (pinned.addresses, pinned.source) == (tuple(VALIDATORS), "chain.validators")
    assert pinned_validators(Settings(), None) is None
    one = tmp_path / "one.txt"
    one.write_text(addresses[0] + "\n")
    from_file = pinned_validators(configured, one)
    assert from_file is not None
    assert from_file.addresses == (VALIDATORS[0],)
