"""The ledger service on a real anvil: a part from dossier check to a verified proof bundle."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from ledger.batcher import BatchPolicy
from ledger.bundle import bundle_json, read_bundle
from ledger.canonical import design_key
from ledger.chain import ChainClient
from ledger.contract import LicenceState
from ledger.desk import LedgerDesk
from ledger.errors import (
    DesignError,
    DesignNotRegisteredError,
    DossierMismatchError,
    EvidenceError,
    LedgerStateError,
    QuotaExhaustedError,
    SigningError,
    UnknownRecordError,
)
from ledger.service import LedgerCounts, LedgerService
from ledger.tables import BatchState
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline, verify_online
from models.errors import InvalidRequestError, InvalidStateError, NotFoundError
from models.parts import InspectionResult, ProofBundle, Sample, Verdict, VerificationReport
from models.ports import VerificationOutcome
from tests.integration.ledger.ledger_chainkit import (
    CHAIN_ID,
    DEV_KEYS,
    Ledger,
    Site,
    make_site,
    site_key,
)
from tests.unit.ledger.ledgerkit import FORGER, T0, exported, sealed_store, write_design

pytestmark = pytest.mark.asyncio(loop_scope="session")

DESIGN_KEY = design_key("pump-impeller", "C")
CMM = InspectionResult(check="cmm", result=Verdict.PASS, inspector="anna", at=T0)
SITE_ISSUER = IssuerTrust.pinning([site_key("issuer").address])
"""An offline verifier that pins the printing site as the issuer."""


@pytest_asyncio.fixture(loop_scope="session")
async def oem(ledger: Ledger, tmp_path: Path) -> AsyncIterator[Site]:
    """The OEM's ledger; the admin has allow-listed the OEM and the printing site."""
    await ledger.admin.add_oem(ledger.oem.address)
    await ledger.admin.add_issuer(ledger.issuer.address)
    site = make_site(tmp_path / "oem", ledger.oem, role="oem")
    yield site
    site.store.close()


@pytest_asyncio.fixture(loop_scope="session")
async def released(oem: Site, ledger: Ledger, tmp_path: Path) -> Path:
    """The OEM's design folder, registered on chain and licensed to the site for 5 pieces."""
    folder = write_design(tmp_path / "released")
    await oem.service.register_design(folder, licensee=ledger.issuer.address, quota=5)
    return folder


@pytest_asyncio.fixture(loop_scope="session")
async def site(ledger: Ledger, released: Path, tmp_path: Path) -> AsyncIterator[Site]:
    """The printing site, with the released design installed beside its printer."""
    printing = make_site(tmp_path / "site", ledger.issuer)
    printing.install(released)
    yield printing
    printing.store.close()


def failed(report: VerificationReport) -> list[str]:
    return [c.name for c in report.checks if not c.passed]


# --- the whole path of one part ---


async def test_a_printed_part_verifies_offline_and_online(site: Site, ledger: Ledger) -> None:
    signed = await site.print_part("P-0001", inspections=(CMM,))
    report = await site.anchor_now()
    assert [b.size for b in report.sealed] == [1]
    [receipt] = report.anchored
    assert receipt.root == report.sealed[0].root.hex()
    assert await ledger.outsider.licence(DESIGN_KEY, ledger.issuer.address) == LicenceState(5, 1)

    bundle = read_bundle(bundle_json(await site.service.bundle("P-0001")))
    assert bundle.certificate.leaf_hash == signed.leaf_hash.hex()
    assert bundle.certificate.document["inspections"][0]["check"] == "cmm"
    assert bundle.certificate.document["health"] == {"model_version": "rul-hgb-3", "score": 0.08}
    offline = verify_offline(bundle, trust=SITE_ISSUER)
    assert offline.valid, offline.reasons
    online = await verify_online(bundle, ledger.outsider)
    assert online.valid, online.reasons
    assert online.part_verdict is Verdict.PASS
    assert {"certificate anchored", "certificate transaction", "issuer allow-list"} <= {
        c.name for c in online.checks
    }


async def test_a_failed_print_is_certified_as_failed_and_still_counts(
    site: Site, ledger: Ledger
) -> None:
    await site.print_part("P-0002", layers_done=300)
    await site.anchor_now()
    report = await site.service.verify(await site.service.bundle("P-0002"))
    assert report.valid
    assert report.part_verdict is Verdict.FAIL
    assert await ledger.outsider.licence(DESIGN_KEY, ledger.issuer.address) == LicenceState(5, 1)


async def test_inspections_after_the_certificate_are_signed_anchored_records(site: Site) -> None:
    await site.print_part("P-0003")
    late = InspectionResult(check="tensile", result=Verdict.FAIL, inspector="ben", at=T0)
    outcome = await site.service.add_inspection("P-0003", late)
    assert not outcome.pending
    await site.anchor_now()
    bundle = await site.service.bundle("P-0003")
    [record] = bundle.records
    assert record.document["inspection"]["check"] == "tensile"
    report = await site.service.verify(bundle)
    assert report.valid, report.reasons
    assert report.part_verdict is Verdict.FAIL  # the later inspection failed the part


# --- the printer agent ---


async def test_a_tampered_dossier_is_refused_before_printing(site: Site, released: Path) -> None:
    installed = site.designs / "pump-impeller" / "C"
    model = installed / "impeller.stl"
    original = model.read_bytes()
    model.write_bytes(b"solid, wall 0.2 mm thinner")
    with pytest.raises(DossierMismatchError, match="the chain registers 3ff3cdff") as first:
        await site.print_part("P-0004")  # no copy of the dossier yet: the hashes say it
    model.write_bytes(original)
    await site.print_part("P-0005")  # the site keeps the dossier it verified
    model.write_bytes(b"solid, wall 0.2 mm thinner")
    with pytest.raises(DossierMismatchError) as caught:
        await site.print_part("P-0006")
    message = str(caught.value)
    assert message.endswith("files that differ from the registered dossier: impeller.stl")
    assert [(r.serial, r.reason) for r in site.store.refusals()] == [
        ("P-0006", message),
        ("P-0004", str(first.value)),
    ]
    with pytest.raises(LedgerStateError, match="no part with serial P-0006"):
        site.store.job_by_serial("P-0006")


async def test_an_unregistered_or_missing_design_is_refused(site: Site, tmp_path: Path) -> None:
    unregistered = write_design(tmp_path / "d", design_id="bracket", revision="A")
    site.install(unregistered, "bracket", "A")
    with pytest.raises(DesignNotRegisteredError):
        await site.service.start_job(
            serial="B-1",
            design_id="bracket",
            revision="A",
            printer="am-cell-2",
            order_id="PO-1",
            material_lot="L",
            layers_planned=10,
        )
    with pytest.raises(DesignError, match=r"no design\.toml"):
        await site.service.start_job(
            serial="B-2",
            design_id="bracket",
            revision="B",
            printer="am-cell-2",
            order_id="PO-1",
            material_lot="L",
            layers_planned=10,
        )
    assert [r.serial for r in site.store.refusals()] == ["B-2", "B-1"]


async def test_a_licence_stops_at_its_quota_counting_unanchored_pieces(
    site: Site, oem: Site, released: Path, ledger: Ledger
) -> None:
    await oem.service.register_design(released, licensee=ledger.issuer.address, quota=2)
    await site.print_part("Q-1")
    await site.print_part("Q-2")  # neither anchored yet: both count
    with pytest.raises(QuotaExhaustedError, match="0 anchored and 2 printed but not yet"):
        await site.print_part("Q-3")
    await site.anchor_now()
    assert await ledger.outsider.licence(DESIGN_KEY, ledger.issuer.address) == LicenceState(2, 2)
    with pytest.raises(QuotaExhaustedError, match="2 anchored and 0 printed"):
        await site.print_part("Q-4")
    again = await oem.service.register_design(released, licensee=ledger.issuer.address, quota=3)
    assert again.already_registered
    await site.print_part("Q-5")


async def test_a_changed_dossier_cannot_be_registered_under_the_same_revision(
    oem: Site, released: Path, tmp_path: Path
) -> None:
    changed = shutil.copytree(released, tmp_path / "changed")
    (changed / "recipe.json").write_text('{"layer_um": 40}')
    with pytest.raises(DesignError, match="is registered with dossier") as caught:
        await oem.service.register_design(changed)
    assert "new revision" in caught.value.advice


# --- revocation ---


async def test_a_revocation_is_anchored_and_marked_on_chain(site: Site, ledger: Ledger) -> None:
    await site.print_part("R-1")
    await site.anchor_now()
    before = await site.service.bundle("R-1")
    await site.service.revoke("R-1", "porosity above limit", "qe-anna")
    report = await site.anchor_now()
    assert report.revocations_marked == ["R-1"]

    after = await site.service.bundle("R-1")
    offline = verify_offline(after, trust=SITE_ISSUER)
    assert failed(offline) == ["revocation"]
    assert "porosity above limit" in offline.reasons[0]
    online = await verify_online(after, ledger.outsider)
    assert failed(online) == ["revocation", "revocation on chain"]
    # a bundle exported before the revocation still verifies offline, but not online
    assert verify_offline(before, trust=SITE_ISSUER).valid
    assert failed(await verify_online(before, ledger.outsider)) == ["revocation on chain"]
    assert (await site.anchor_now()).revocations_marked == []  # marked once
    with pytest.raises(LedgerStateError, match="no certificate"):
        await site.service.revoke("R-404", "typo", "qe")


# --- reconciling after a crash or a lost chain ---


async def restarted(site: Site, ledger: Ledger) -> Site:
    """The same site after a restart: same store, a new chain connection."""
    chain = await ChainClient.connect(
        ledger.url, CHAIN_ID, DEV_KEYS["issuer"], contract_address=ledger.issuer.contract_address
    )
    again = make_site(site.store.path.parent, chain)
    again.service.clock = site.clock
    return again


async def close(site: Site) -> None:
    assert site.service.chain is not None
    await site.service.chain.close()
    site.store.close()


async def test_reconcile_anchors_again_a_root_the_chain_lost(site: Site, ledger: Ledger) -> None:
    await site.print_part("C-1")
    snapshot = await ledger.rpc("evm_snapshot")
    first = (await site.anchor_now()).anchored[0]
    await ledger.rpc("evm_revert", snapshot)  # the node lost the blocks since
    assert await ledger.outsider.anchored_at(bytes.fromhex(first.root)) is None

    again = await restarted(site, ledger)
    try:
        report = await again.service.reconcile()
        [receipt] = report.anchored
        assert receipt.root == first.root
        assert await ledger.outsider.licence(DESIGN_KEY, ledger.issuer.address) == LicenceState(
            5, 1
        )
        bundle = await again.service.bundle("C-1")
        assert bundle.certificate.anchor == receipt
        assert (await verify_online(bundle, ledger.outsider)).valid
        assert (await again.service.reconcile()).anchored == []  # nothing left to do
    finally:
        await close(again)


async def test_reconcile_sends_a_sealed_batch_whose_transaction_was_lost(
    site: Site, ledger: Ledger
) -> None:
    await site.print_part("C-2")
    site.clock.advance(61)
    batch = site.store.seal(10, site.clock.now())
    assert batch is not None
    site.store.mark_sending(batch.id)  # crashed before the transaction left
    again = await restarted(site, ledger)
    try:
        report = await again.service.reconcile()
        assert [r.root for r in report.anchored] == [batch.root.hex()]
        assert again.store.batches()[0].state is BatchState.ANCHORED
    finally:
        await close(again)


async def test_reconcile_takes_the_receipt_of_a_transaction_that_landed(
    site: Site, ledger: Ledger
) -> None:
    await site.print_part("C-3")
    site.clock.advance(61)
    batch = site.store.seal(10, site.clock.now())
    assert batch is not None
    site.store.mark_sending(batch.id)
    landed = await ledger.issuer.anchor(batch.root, batch.size, {DESIGN_KEY: 1})  # then crashed
    again = await restarted(site, ledger)
    try:
        report = await again.service.reconcile()
        assert report.anchored == []
        [receipt] = report.confirmed
        assert receipt.tx_hash == "0x" + landed.tx_hash.hex()
        assert await ledger.outsider.licence(DESIGN_KEY, ledger.issuer.address) == LicenceState(
            5, 1
        )
    finally:
        await close(again)


async def test_a_resent_anchor_racing_the_lost_one_is_never_counted_twice(
    site: Site, ledger: Ledger
) -> None:
    await site.print_part("C-4")
    site.clock.advance(61)
    batch = site.store.seal(10, site.clock.now())
    assert batch is not None
    again = await restarted(site, ledger)
    await ledger.rpc("evm_setAutomine", False)
    try:
        lost = asyncio.create_task(ledger.issuer.anchor(batch.root, batch.size, {DESIGN_KEY: 1}))
        while int((await ledger.rpc("txpool_status"))["pending"], 16) < 1:
            await asyncio.sleep(0.01)
        resent = asyncio.create_task(again.service.reconcile())
        while int((await ledger.rpc("txpool_status"))["pending"], 16) < 2:
            await asyncio.sleep(0.01)
        await ledger.rpc("evm_mine")
        await lost
        report = await resent
    finally:
        await ledger.rpc("evm_setAutomine", True)
    try:
        assert report.failures == []
        [receipt] = report.confirmed
        assert receipt.tx_hash == "0x" + lost.result().tx_hash.hex()
        assert await ledger.outsider.licence(DESIGN_KEY, ledger.issuer.address) == LicenceState(
            5, 1
        )
    finally:
        await close(again)


# --- online verification refuses what the chain contradicts ---


@pytest_asyncio.fixture(loop_scope="session")
async def anchored_bundle(site: Site) -> ProofBundle:
    await site.print_part("T-1")
    await site.anchor_now()
    return await site.service.bundle("T-1")


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [
        ("chain_id", 1, "certificate chain"),
        ("contract", "0x" + "12" * 20, "certificate contract"),
        ("tx_hash", "0x" + "34" * 32, "certificate transaction"),
        ("block_number", 1, "certificate anchored"),
        ("root", "56" * 32, "certificate anchor receipt"),
        ("size", 2, "certificate anchor receipt"),
    ],
)
async def test_altering_any_receipt_field_fails_online_and_says_what(
    anchored_bundle: ProofBundle, ledger: Ledger, field: str, value: object, check: str
) -> None:
    raw = json.loads(bundle_json(anchored_bundle))
    assert raw["certificate"]["anchor"][field] != value
    raw["certificate"]["anchor"][field] = value
    report = await verify_online(read_bundle(json.dumps(raw)), ledger.outsider)
    assert not report.valid
    assert report.reasons[0].startswith(check), report.reasons


async def test_an_issuer_removed_from_the_allow_list_no_longer_verifies(
    anchored_bundle: ProofBundle, ledger: Ledger
) -> None:
    assert (await verify_online(anchored_bundle, ledger.outsider)).valid
    await ledger.admin.remove_issuer(ledger.issuer.address)
    report = await verify_online(anchored_bundle, ledger.outsider)
    assert failed(report) == ["issuer allow-list"]
    assert verify_offline(anchored_bundle, trust=SITE_ISSUER).valid


async def test_online_verification_also_honours_pinned_issuers(
    anchored_bundle: ProofBundle, ledger: Ledger
) -> None:
    assert (await verify_online(anchored_bundle, ledger.outsider, trust=SITE_ISSUER)).valid
    elsewhere = IssuerTrust.pinning([ledger.oem.address])
    report = await verify_online(anchored_bundle, ledger.outsider, trust=elsewhere)
    assert failed(report) == ["issuer trust"]
    assert (
        f"issuer {ledger.issuer.address} is not one of the 1 trusted issuers" in report.reasons[0]
    )


# --- the server's certificate desk ---


async def test_a_desk_without_a_chain_trusts_only_its_own_site_as_issuer(
    tmp_path: Path,
) -> None:
    store, _, _ = sealed_store(tmp_path / "forged", count=2, key=FORGER)
    forged = bundle_json(exported(store, "P-0001"))
    store.close()
    offline = make_site(tmp_path / "site", None)
    try:
        outcome = await LedgerDesk(offline.service).verify_bundle(forged)
    finally:
        offline.store.close()
    assert not outcome.valid
    assert outcome.reason == (
        f"issuer trust: issuer {FORGER.address} is not one of the 1 trusted issuers"
    )


async def test_the_desk_serves_certificates_bundles_and_verdicts(site: Site) -> None:
    desk = LedgerDesk(site.service)
    signed = await site.print_part("D-1")
    await site.anchor_now()
    assert (await desk.certificate_json("D-1")).encode() == signed.body
    bundle = await desk.proof_bundle_json("D-1")
    outcome = await desk.verify_bundle(bundle)
    assert outcome == VerificationOutcome(True, "authentic (online): part D-1, verdict pass")
    tampered = bundle.replace('"material_lot": "Ti64-L2291"', '"material_lot": "other"')
    assert tampered != bundle
    outcome = await desk.verify_bundle(tampered)
    assert not outcome.valid
    assert outcome.reason.startswith("certificate content: the certificate hashes to leaf")
    assert not (await desk.verify_bundle("[]")).valid

    await desk.record_inspection("D-1", '{"check": "cmm", "result": "pass", "value": 0.01}', "ben")
    await desk.record_inspection(
        "D-1", '{"results": [{"check": "ct", "result": "fail", "note": "void"}]}', "ben"
    )
    assert [
        r.document["inspection"]["inspector"] for r in (await site.service.bundle("D-1")).records
    ] == [
        "ben",
        "ben",
    ]
    for bad in ("{}", '{"check": "cmm", "result": "maybe"}', '{"results": []}', "not json"):
        with pytest.raises(InvalidRequestError):
            await desk.record_inspection("D-1", bad, "ben")
    with pytest.raises(NotFoundError):
        await desk.certificate_json("D-404")
    with pytest.raises(NotFoundError):
        await desk.record_inspection("D-404", '{"check": "cmm", "result": "pass"}', "ben")
    await desk.revoke("D-1", "wrong alloy", "qe-anna")
    with pytest.raises(InvalidStateError):
        await desk.revoke("D-1", "again", "qe-anna")


async def test_the_service_refuses_what_it_cannot_record(site: Site, ledger: Ledger) -> None:
    job = await site.service.start_job(
        serial="E-1",
        design_id="pump-impeller",
        revision="C",
        printer="am-cell-2",
        order_id="PO-1",
        material_lot="L",
        layers_planned=412,
    )
    with pytest.raises(EvidenceError, match="finite"):
        await site.service.record_samples(job.job_id, [Sample("laser_power_w", T0, math.nan)])
    with pytest.raises(LedgerStateError, match="is printing, not finished"):
        await site.service.issue_certificate("E-1")
    await site.service.finish_job(job.job_id, 412)
    with pytest.raises(LedgerStateError, match="is finished, not printing"):
        await site.service.finish_job(job.job_id, 412)
    with pytest.raises(UnknownRecordError, match="no job J-404"):
        await site.service.finish_job("J-404", 1)
    with pytest.raises(SigningError, match="is not the site key's"):
        LedgerService(
            site.store,
            site.service.key,
            clock=site.clock,
            policy=BatchPolicy(10, timedelta(seconds=60)),
            designs_dir=site.designs,
            chain=ledger.oem,
        )


# --- the queries the server asks ---


async def test_design_licence_verdict_and_anchor_queries_follow_the_parts(site: Site) -> None:
    unknown = await site.service.design_standing("pump-impeller", "C")
    await site.print_part("P-0001")
    await site.print_part("P-0002", layers_done=300)
    printed = await site.service.design_standing("pump-impeller", "C")
    waiting = await site.service.counts()
    verdicts = await site.service.certified_verdicts(["P-0001", "P-0002", "P-0003", "P-0001"])
    await site.anchor_now()
    anchored = await site.service.design_standing("pump-impeller", "C")
    after = await site.service.counts()
    kept = await site.service.design(DESIGN_KEY)
    assert unknown is None, "no job has used the design: the site keeps no dossier yet"
    assert printed is not None
    assert (printed.quota, printed.counted, printed.uncounted) == (5, 0, 2)
    assert anchored is not None
    assert (anchored.counted, anchored.uncounted, anchored.produced) == (2, 0, 2)
    assert waiting == LedgerCounts(batches_anchored=0, batches_pending=0, certificates_unanchored=2)
    assert after == LedgerCounts(batches_anchored=1, batches_pending=0, certificates_unanchored=0)
    assert verdicts == [Verdict.PASS, Verdict.FAIL]
    assert kept is not None
    assert kept.id == "pump-impeller"
    assert await site.service.unanchored_pieces(DESIGN_KEY) == 0
