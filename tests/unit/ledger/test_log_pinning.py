"""A verifier pins the site log's key, and a bundle stripped of its checkpoints to look older than
the site log fails a witness quorum unless pre-log bundles are accepted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from config import Settings
from ledger.batcher import BatchPolicy
from ledger.bundle import bundle_json
from ledger.documents import inspection_document
from ledger.issuing import Issuer
from ledger.logchecks import WitnessPolicy
from ledger.logverify import witness_policy
from ledger.sitelog import LOG_KEY_ENV
from ledger.transparency import COSIGNATURE_V1, Note, NoteError, Signer
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline
from ledger.witnessing import site_log_of
from models import ExitCode, ProofBundle, RecordKind, Verdict, VerificationReport
from models.parts import InspectionResult
from opcua_server.cli.main import main
from tests.unit.ledger.ledgerkit import (
    DEV_ADDRESS_0,
    SYNTHETIC_TX,
    T0,
    certificate,
    design_ref,
    exported,
    seal_as_anchored,
    sealed_store,
)

ORIGIN = "trustfloor/plant-7"
LOG = Signer.from_seed(ORIGIN, bytes(range(32)))
IMPOSTOR = Signer.from_seed(ORIGIN, bytes(range(5, 37)))
"""Another key under the same origin: a log key anyone can put in a bundle."""
OEM = Signer.from_seed("oem.example/witness", bytes(range(1, 33)), COSIGNATURE_V1)
NOTARY = Signer.from_seed("notary.example/witness", bytes(range(2, 34)), COSIGNATURE_V1)
WITNESSES = (OEM.verifier(), NOTARY.verifier())
SITE = IssuerTrust.pinning([DEV_ADDRESS_0])


def logged_bundle(folder: Path, log: Signer) -> ProofBundle:
    """A format 2 bundle: one certificate sealed into ``log``'s site log, anchored, cosigned by
    both witnesses."""
    store, key, _ = sealed_store(folder, count=1)
    store.log_signer = log
    _, ref = design_ref(folder)
    issuer = Issuer(store, key, BatchPolicy(1000, timedelta(seconds=60)))
    issuer.issue_certificates([certificate("P-LOG", ref, key.address)])
    seal_as_anchored(store, 1000, SYNTHETIC_TX, block_number=9)
    bundle = exported(store, "P-LOG")
    store.close()
    assert bundle.format == "trustfloor.bundle/2"
    assert bundle.certificate.checkpoint is not None
    note = Note.parse(bundle.certificate.checkpoint)
    cosigned = (*note.signatures, *(w.sign(note.text, 1_765_000_000) for w in (OEM, NOTARY)))
    checkpoint = Note(note.text, cosigned).render()
    record = bundle.certificate.model_copy(update={"checkpoint": checkpoint})
    return bundle.model_copy(update={"certificate": record})


def inspected_since_the_log(folder: Path) -> ProofBundle:
    """A part certified before the site log began, inspected after: a format 2 bundle whose
    certificate has a proof but no checkpoint."""
    store, key, serials = sealed_store(folder, count=1)
    store.log_signer = LOG
    certified = store.leaf(serials[0], RecordKind.CERTIFICATE)
    assert certified is not None
    found = InspectionResult(check="CT scan", result=Verdict.PASS, inspector="qe", at=T0)
    document = inspection_document(serials[0], certified.leaf_hash.hex(), found, key.address, T0)
    Issuer(store, key, BatchPolicy(1000, timedelta(seconds=60))).issue_record(
        RecordKind.INSPECTION, document, T0
    )
    seal_as_anchored(store, 1000, SYNTHETIC_TX, block_number=9)
    bundle = exported(store, serials[0])
    store.close()
    assert (bundle.format, bundle.certificate.checkpoint) == ("trustfloor.bundle/2", None)
    return bundle


def relabelled(bundle: ProofBundle) -> ProofBundle:
    """The bundle with its checkpoint stripped, passed off as sealed before the site log."""
    record = bundle.certificate.model_copy(update={"checkpoint": None})
    update = {"certificate": record, "format": "trustfloor.bundle/1", "log_key": None}
    return bundle.model_copy(update=update)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ProofBundle]:
    genuine = logged_bundle(tmp_path_factory.mktemp("site"), LOG)
    store, _, serials = sealed_store(tmp_path_factory.mktemp("old"), count=1)
    old = exported(store, serials[0])
    store.close()
    assert old.format == "trustfloor.bundle/1"
    return {
        "genuine": genuine,
        "impostor": logged_bundle(tmp_path_factory.mktemp("impostor"), IMPOSTOR),
        "relabelled": relabelled(genuine),
        "old": old,
        "inspected": inspected_since_the_log(tmp_path_factory.mktemp("inspected")),
    }


def checkpoint_check(report: VerificationReport) -> tuple[bool, str]:
    (check,) = [c for c in report.checks if c.name == "certificate checkpoint"]
    return check.passed, check.detail


def test_a_pinned_log_key_is_accepted(bundles: dict[str, ProofBundle]) -> None:
    policy = WitnessPolicy(WITNESSES, 2, log_keys=(LOG.verifier(),), log_keys_source="pins.txt")
    report = verify_offline(bundles["genuine"], trust=SITE, witnesses=policy)
    assert report.valid, report.reasons
    assert checkpoint_check(report) == (
        True,
        f"{ORIGIN} size 1, signed by the site log key pinned by pins.txt",
    )


def test_a_log_key_that_is_not_pinned_fails_the_checkpoint_check(
    bundles: dict[str, ProofBundle],
) -> None:
    policy = WitnessPolicy(WITNESSES, 2, log_keys=(LOG.verifier(),))
    report = verify_offline(bundles["impostor"], trust=SITE, witnesses=policy)
    assert not report.valid
    passed, detail = checkpoint_check(report)
    assert not passed
    assert f"log key for the site log {ORIGIN} is not one of the 1 log key(s) pinned" in detail
    assert "--log-keys FILE or ledger.log_keys" in detail
    assert [c.name for c in report.checks if not c.passed] == ["certificate checkpoint"]


def test_with_nothing_pinned_the_bundles_log_key_is_used_and_the_report_says_so(
    bundles: dict[str, ProofBundle],
) -> None:
    report = verify_offline(bundles["impostor"], trust=SITE, witnesses=WitnessPolicy(WITNESSES, 2))
    assert report.valid, report.reasons
    assert "log key NOT pinned" in checkpoint_check(report)[1]


def test_a_relabelled_format_1_bundle_fails_a_witness_quorum(
    bundles: dict[str, ProofBundle],
) -> None:
    assert verify_offline(bundles["relabelled"], trust=SITE).valid  # what the loophole was
    report = verify_offline(
        bundles["relabelled"], trust=SITE, witnesses=WitnessPolicy(WITNESSES, 1)
    )
    assert not report.valid
    passed, detail = checkpoint_check(report)
    assert not passed
    assert "the bundle carries no cosigned checkpoint (format 1)" in detail
    assert "--accept-pre-log or ledger.accept_pre_log_bundles" in detail


def test_pre_log_bundles_pass_a_quorum_when_the_verifier_accepts_them(
    bundles: dict[str, ProofBundle],
) -> None:
    policy = WitnessPolicy(WITNESSES, 2, accept_pre_log=True)
    for name in ("relabelled", "old"):
        report = verify_offline(bundles[name], trust=SITE, witnesses=policy)
        assert report.valid, report.reasons
        assert "accepted because pre-log bundles are" in report.warnings[0]


def test_old_format_1_bundles_verify_as_before_without_a_quorum(
    bundles: dict[str, ProofBundle],
) -> None:
    policy = WitnessPolicy(WITNESSES, 0, log_keys=(LOG.verifier(),))
    report = verify_offline(bundles["old"], trust=SITE, witnesses=policy)
    assert report.valid, report.reasons
    assert report.warnings == ()
    assert not [c for c in report.checks if "checkpoint" in c.name]


def test_the_site_pins_its_own_log_key_besides_the_configured_ones(
    bundles: dict[str, ProofBundle], tmp_path: Path
) -> None:
    other = Signer.from_seed("trustfloor/plant-8", bytes(range(9, 41))).verifier()
    settings = Settings(
        data_dir=tmp_path / "var",
        site={"name": "plant-7"},
        ledger={"log_keys": [other.vkey()]},
    )
    log = site_log_of(settings, {LOG_KEY_ENV: bytes(range(32)).hex()})
    policy = log.witness_policy()
    assert policy.log_keys == (LOG.verifier(), other)
    assert verify_offline(bundles["genuine"], trust=SITE, witnesses=policy).valid
    assert not verify_offline(bundles["impostor"], trust=SITE, witnesses=policy).valid


def test_an_older_part_inspected_since_the_log_began_is_held_to_the_same_rule(
    bundles: dict[str, ProofBundle],
) -> None:
    bundle = bundles["inspected"]
    pinned = WitnessPolicy(WITNESSES, 0, log_keys=(LOG.verifier(),))
    report = verify_offline(bundle, trust=SITE, witnesses=pinned)
    assert report.valid, report.reasons
    assert checkpoint_check(report) == (True, "sealed before the site log: no checkpoint")
    refused = verify_offline(bundle, trust=SITE, witnesses=WitnessPolicy(WITNESSES, 2))
    assert [c.name for c in refused.checks if not c.passed] == [
        "certificate checkpoint",
        "record 1 (inspection) witnesses",  # its checkpoint is not cosigned in this bundle
    ]
    assert "accept pre-log bundles" in checkpoint_check(refused)[1]
    accepting = WitnessPolicy(WITNESSES, 2, accept_pre_log=True)
    passed, detail = checkpoint_check(verify_offline(bundle, trust=SITE, witnesses=accepting))
    assert passed
    assert "accepted because pre-log bundles are" in detail


def test_log_keys_come_from_the_file_else_the_configuration(tmp_path: Path) -> None:
    pins = tmp_path / "log-keys.txt"
    pins.write_text(f"# the plant's log\n{LOG.verifier().vkey()}  # plant 7\n")
    configured = Settings(
        data_dir=tmp_path / "var",
        ledger={"log_keys": [IMPOSTOR.verifier().vkey()], "accept_pre_log_bundles": True},
    )
    from_file = witness_policy(configured, None, None, log_keys=pins)
    assert (from_file.log_keys, from_file.log_keys_source) == ((LOG.verifier(),), str(pins))
    assert from_file.accept_pre_log
    from_config = witness_policy(configured, None, None, environ={})
    assert from_config.log_keys == (IMPOSTOR.verifier(),)
    assert not (tmp_path / "var").exists()  # a verifier gets no log key made for it
    on_the_site = configured.model_copy(
        update={"site": configured.site.model_copy(update={"name": "plant-7"})}
    )
    at_home = witness_policy(on_the_site, None, None, environ={LOG_KEY_ENV: bytes(range(32)).hex()})
    assert at_home.log_keys == (LOG.verifier(), IMPOSTOR.verifier())
    assert at_home.log_keys_source == "the site's own log key and ledger.log_keys"
    pins.write_text(OEM.verifier().vkey() + "\n")
    with pytest.raises(NoteError, match="type 0x01"):
        witness_policy(configured, None, None, log_keys=pins)
    mistaken = Settings(data_dir=tmp_path / "var", ledger={"log_keys": [OEM.verifier().vkey()]})
    with pytest.raises(NoteError, match=r"ledger.log_keys\[0\]: .* not a site log key"):
        witness_policy(mistaken, None, None, environ={})
    pins.write_text("# nothing yet\n")
    with pytest.raises(NoteError, match="pins no key"):
        witness_policy(configured, None, None, log_keys=pins)


def test_verify_log_keys_and_accept_pre_log_give_the_exit_code(
    bundles: dict[str, ProofBundle], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {}
    for name, bundle in bundles.items():
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(bundle_json(bundle))
    pins, witnesses = tmp_path / "log-keys.txt", tmp_path / "witnesses.txt"
    pins.write_text(LOG.verifier().vkey() + "\n")
    witnesses.write_text("".join(w.vkey() + "\n" for w in WITNESSES))
    common = ["--offline", "--trust-any-issuer", "--data-dir", str(tmp_path / "var")]
    pinned = [*common, "--witnesses", str(witnesses), "--log-keys", str(pins)]

    def verify(name: str, *more: str) -> int:
        return main(["verify", str(files[name]), *more])

    assert verify("genuine", *pinned) == ExitCode.OK
    assert verify("impostor", *pinned) == ExitCode.INVALID
    assert "✗ certificate checkpoint: the bundle's log key" in capsys.readouterr().out
    assert verify("relabelled", *pinned) == ExitCode.INVALID
    assert "no cosigned checkpoint" in capsys.readouterr().out
    assert verify("relabelled", *pinned, "--accept-pre-log") == ExitCode.OK
    assert verify("old", *common) == ExitCode.OK
