"""The ledger contract's parties on a real anvil: who may register and licence, and the terms."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.batcher import BatchPolicy
from ledger.canonical import design_key
from ledger.contract import LicenceState
from ledger.designs import load_design
from ledger.errors import ContractError, SealedDossierError
from ledger.issuing import Issuer
from ledger.merkle import hash_leaf, root_hash
from ledger.sealing import package_address, seal_dossier, site_public_key
from ledger.store import LedgerStore
from ledger.verify import verify_online
from models import AnchorReceipt, ProofBundle
from tests.integration.ledger.ledger_chainkit import Ledger, make_site, site_key
from tests.unit.ledger.ledgerkit import T0, certificate, design_ref, exported, write_design

IMPELLER_C = design_key("pump-impeller", "C")
DOSSIER = hashlib.sha256(b"impeller dossier").digest()


def batch_root(label: str) -> bytes:
    return root_hash([hash_leaf(f"{label}/{i}".encode()) for i in range(4)])


async def now_on_chain(ledger: Ledger) -> int:
    """The latest block's timestamp: what the next transaction's block starts from."""
    block = await ledger.rpc("eth_getBlockByNumber", "latest", False)
    return int(block["timestamp"], 16)


async def parties(ledger: Ledger) -> None:
    """The consortium admin allow-lists one OEM and one site; the OEM registers design C."""
    await ledger.admin.add_oem(ledger.oem.address)
    await ledger.admin.add_issuer(ledger.issuer.address)
    await ledger.oem.register_design("pump-impeller", "C", DOSSIER)


async def test_a_site_key_cannot_register_designs_or_change_any_licence(ledger: Ledger) -> None:
    await parties(ledger)
    site = ledger.issuer
    with pytest.raises(ContractError) as registering:
        await site.register_design("bracket", "A", DOSSIER)
    assert (registering.value.name, registering.value.arguments) == ("NotOem", (site.address,))
    for change in (
        site.set_licence(IMPELLER_C, site.address, 1000),
        site.revoke_licence(IMPELLER_C, site.address),
    ):
        with pytest.raises(ContractError) as changing:
            await change
        assert (changing.value.name, changing.value.arguments) == ("NotOem", (site.address,))
    assert not (await site.licence(IMPELLER_C, site.address)).granted


async def test_only_the_designs_oem_registers_revisions_and_changes_licences(
    ledger: Ledger,
) -> None:
    await parties(ledger)
    await ledger.admin.add_oem(ledger.other_oem.address)
    other = ledger.other_oem
    with pytest.raises(ContractError) as revising:
        await other.register_design("pump-impeller", "D", DOSSIER)
    assert revising.value.name == "DesignLineOwned"
    assert revising.value.arguments[1] == ledger.oem.address
    assert await other.design_line_oem("pump-impeller") == ledger.oem.address
    await ledger.oem.set_licence(IMPELLER_C, ledger.issuer.address, 5)
    with pytest.raises(ContractError, match="NotDesignOem"):
        await other.set_licence(IMPELLER_C, ledger.issuer.address, 500)
    with pytest.raises(ContractError, match="NotDesignOem"):
        await other.revoke_licence(IMPELLER_C, ledger.issuer.address)
    await ledger.oem.register_design("pump-impeller", "D", DOSSIER)  # its own next revision
    assert await other.design_oem(design_key("pump-impeller", "D")) == ledger.oem.address


async def test_a_design_id_must_come_as_a_json_string(ledger: Ledger) -> None:
    await parties(ledger)
    with pytest.raises(ContractError, match="NotJsonString"):
        await ledger.oem._call_tx("registerDesign", b"bracket", b'"A"', DOSSIER)


async def test_pieces_are_counted_only_within_the_licence_period(ledger: Ledger) -> None:
    await parties(ledger)
    now = await now_on_chain(ledger)
    site = ledger.issuer
    await ledger.oem.set_licence(
        IMPELLER_C, site.address, 5, valid_from=now + 86_400, valid_until=now + 2 * 86_400
    )
    with pytest.raises(ContractError) as early:
        await site.anchor(batch_root("early"), 1, {IMPELLER_C: 1})
    assert (early.value.name, early.value.arguments[2]) == ("LicenceNotYetValid", now + 86_400)

    expired = await ledger.oem.set_licence(
        IMPELLER_C, site.address, 5, valid_from=0, valid_until=now - 1
    )
    assert expired.events_named("LicenceSet")[0].args["validUntil"] == now - 1
    with pytest.raises(ContractError) as late:
        await site.anchor(batch_root("late"), 1, {IMPELLER_C: 1})
    assert (late.value.name, late.value.arguments[2]) == ("LicenceExpired", now - 1)
    assert await site.anchored_at(batch_root("late")) is None
    with pytest.raises(ContractError, match="BadPeriod"):
        await ledger.oem.set_licence(IMPELLER_C, site.address, 5, valid_from=now, valid_until=now)


async def test_the_overdraft_is_counted_past_the_quota_and_no_further(ledger: Ledger) -> None:
    await parties(ledger)
    site = ledger.issuer
    await ledger.oem.set_licence(IMPELLER_C, site.address, 2, overdraft=1)
    await site.anchor(batch_root("within"), 3, {IMPELLER_C: 3})
    state = await site.licence(IMPELLER_C, site.address)
    assert (state.used, state.remaining, state.overage, state.room) == (3, 0, 1, 0)
    with pytest.raises(ContractError) as over:
        await site.anchor(batch_root("over"), 1, {IMPELLER_C: 1})
    assert over.value.name == "QuotaExceeded"
    assert over.value.arguments == (IMPELLER_C, site.address, 2, 1, 3, 1)


async def test_a_revoked_licence_counts_nothing_until_granted_again(ledger: Ledger) -> None:
    await parties(ledger)
    site = ledger.issuer
    await ledger.oem.set_licence(IMPELLER_C, site.address, 5)
    await site.anchor(batch_root("before"), 2, {IMPELLER_C: 2})
    revoked = await ledger.oem.revoke_licence(IMPELLER_C, site.address)
    assert [e.args for e in revoked.events_named("LicenceRevoked")] == [
        {"designKey": IMPELLER_C, "licensee": site.address, "used": 2}
    ]
    assert (await ledger.oem.revoke_licence(IMPELLER_C, site.address)).events == ()
    with pytest.raises(ContractError) as refused:
        await site.anchor(batch_root("revoked"), 1, {IMPELLER_C: 1})
    assert (refused.value.name, refused.value.arguments) == (
        "RevokedLicence",
        (IMPELLER_C, site.address),
    )
    await ledger.oem.set_licence(IMPELLER_C, site.address, 6)
    await site.anchor(batch_root("again"), 1, {IMPELLER_C: 1})
    assert await site.licence(IMPELLER_C, site.address) == LicenceState(6, 3)


async def test_a_site_counts_only_against_its_own_licence(ledger: Ledger) -> None:
    await parties(ledger)
    await ledger.admin.add_issuer(ledger.outsider.address)
    await ledger.oem.set_licence(IMPELLER_C, ledger.issuer.address, 5)
    with pytest.raises(ContractError) as refused:
        await ledger.outsider.anchor(batch_root("not mine"), 1, {IMPELLER_C: 1})
    assert (refused.value.name, refused.value.arguments) == (
        "NoLicence",
        (IMPELLER_C, ledger.outsider.address),
    )
    assert await ledger.outsider.licence(IMPELLER_C, ledger.issuer.address) == LicenceState(5, 0)


async def test_grants_with_their_price_and_the_count_at_a_past_block_are_read_back(
    ledger: Ledger,
) -> None:
    await parties(ledger)
    site = ledger.issuer
    first = await ledger.oem.set_licence(
        IMPELLER_C, site.address, 5, price_micros=12_500_000, currency="EUR"
    )
    counted = await site.anchor(batch_root("history"), 2, {IMPELLER_C: 2})
    await ledger.oem.set_licence(IMPELLER_C, site.address, 8, overdraft=2)
    grants = await ledger.outsider.licence_grants(IMPELLER_C, site.address)
    assert [(g.terms.quota, g.price_micros, g.currency) for g in grants] == [
        (5, 12_500_000, "EUR"),
        (8, 0, ""),
    ]
    assert grants[0].block_number == first.block_number
    assert (await site.licence_at(IMPELLER_C, site.address, counted.block_number - 1)).used == 0
    assert (await site.licence_at(IMPELLER_C, site.address, counted.block_number)).used == 2
    when = await site.block_time(counted.block_number)
    before = await site.last_block_before(when + 1)
    assert before is not None
    assert before >= counted.block_number
    assert await site.last_block_before(0) is None


async def anchored_bundle(
    ledger: Ledger, folder: Path, serial: str, *, counted: bool
) -> ProofBundle:
    """A certificate of design pump-impeller C issued by the site and anchored by it, its piece
    counted against its licence or (as a counterfeiter would) not."""
    store = LedgerStore(folder / "ledger.sqlite")
    _, ref = design_ref(folder)
    site = site_key("issuer")
    Issuer(store, site, BatchPolicy(10, timedelta(seconds=60))).issue_certificates(
        [certificate(serial, ref, site.address)]
    )
    batch = store.seal(10, T0)
    assert batch is not None
    pieces = {design_key(ref.id, ref.revision): 1} if counted else {}
    outcome = await ledger.issuer.anchor(batch.root, batch.size, pieces)
    store.record_anchor(
        batch.id,
        AnchorReceipt(
            chain_id=ledger.issuer.chain_id,
            contract=ledger.issuer.contract_address,
            tx_hash="0x" + outcome.tx_hash.hex(),
            block_number=outcome.block_number,
            root=batch.root.hex(),
            size=batch.size,
        ),
    )
    bundle = exported(store, serial)
    store.close()
    return bundle


async def test_verify_says_whether_a_part_was_printed_under_a_valid_licence(
    ledger: Ledger, tmp_path: Path
) -> None:
    await ledger.admin.add_oem(ledger.oem.address)
    await ledger.admin.add_issuer(ledger.issuer.address)
    dossier, _ = design_ref(tmp_path / "oem")
    await ledger.oem.register_design("pump-impeller", "C", bytes.fromhex(dossier.dossier_sha256))
    await ledger.oem.set_licence(design_key("pump-impeller", "C"), ledger.issuer.address, 5)

    licensed = await anchored_bundle(ledger, tmp_path / "licensed", "P-1", counted=True)
    report = await verify_online(licensed, ledger.outsider)
    [check] = [c for c in report.checks if c.name == "licence"]
    assert check.passed, check.detail
    assert f"licence of pump-impeller revision C from its OEM {ledger.oem.address}" in check.detail

    counterfeit = await anchored_bundle(ledger, tmp_path / "counterfeit", "P-2", counted=False)
    report = await verify_online(counterfeit, ledger.outsider)
    assert not report.valid
    assert [c.name for c in report.checks if not c.passed] == ["licence"]
    assert "printed without a valid licence of the design's OEM" in report.reasons[0]


async def test_the_agent_prints_from_a_dossier_sealed_for_its_site_and_keeps_no_clear_copy(
    ledger: Ledger, tmp_path: Path
) -> None:
    await ledger.admin.add_oem(ledger.oem.address)
    await ledger.admin.add_issuer(ledger.issuer.address)
    await ledger.admin.add_issuer(ledger.outsider.address)
    released = write_design(tmp_path / "released")
    dossier = load_design(released)
    await ledger.oem.register_design("pump-impeller", "C", bytes.fromhex(dossier.dossier_sha256))
    for site in (ledger.issuer, ledger.outsider):
        await ledger.oem.set_licence(design_key("pump-impeller", "C"), site.address, 5)
    package = seal_dossier(released, site_public_key(site_key("issuer")), site_key("oem"))

    printing = make_site(tmp_path / "site", ledger.issuer)
    kept = printing.designs / "pump-impeller" / "C"
    kept.mkdir(parents=True)
    (kept / f"{package_address(package)}.sealed.json").write_bytes(package)
    certificate_record = await printing.print_part("SN-SEALED-1")
    issued = json.loads(certificate_record.body)
    assert issued["design"]["dossier_sha256"] == dossier.dossier_sha256
    assert list((tmp_path / "site" / "jobs").iterdir()) == []  # opened for the job only
    printing.store.close()

    other = make_site(tmp_path / "other", ledger.outsider, role="outsider")
    kept = other.designs / "pump-impeller" / "C"
    kept.mkdir(parents=True)
    (kept / f"{package_address(package)}.sealed.json").write_bytes(package)
    with pytest.raises(SealedDossierError, match="sealed for another site"):
        await other.print_part("SN-OTHER-1")
    [refusal] = other.store.refusals()
    assert "sealed for another site" in refusal.reason
    other.store.close()
