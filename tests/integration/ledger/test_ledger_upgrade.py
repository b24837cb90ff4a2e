"""A version 1 ledger followed by a version 2 one: old and new bundles verify, forged logs fail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from ledger.anvil import LocalAnvil
from ledger.bundle import bundle_json, read_bundle
from ledger.canonical import design_key
from ledger.chain import ChainClient
from ledger.chain.v1 import v1_artifact
from ledger.contract import ContractArtifact
from ledger.errors import ContractError
from ledger.verify import verify_online
from models.parts import ProofBundle
from tests.integration.ledger.ledger_chainkit import CHAIN_ID, DEV_KEYS, make_site, site_key
from tests.unit.ledger.ledgerkit import write_design

pytestmark = pytest.mark.asyncio(loop_scope="session")

SITE = site_key("issuer").address
DESIGN = design_key("pump-impeller", "C")
DOSSIER_E = hashlib.sha256(b"impeller dossier, revision E").digest()
V1 = v1_artifact()


@dataclass(frozen=True)
class Upgrade:
    """A site that anchored on a version 1 ledger, then on the version 2 ledger following it."""

    v1: str
    v2: str
    old: ProofBundle
    new: ProofBundle
    resent_after_upgrade: int
    """Batches the restarted site anchored again when it reconciled on the new ledger."""


async def _client(
    anvil: LocalAnvil,
    role: str,
    ledger: str | None = None,
    artifact: ContractArtifact | None = None,
) -> ChainClient:
    return await ChainClient.connect(
        anvil.url, CHAIN_ID, DEV_KEYS[role], contract_address=ledger, artifact=artifact
    )


async def _licensed_ledger(
    anvil: LocalAnvil,
    released: Path,
    folder: Path,
    artifact: ContractArtifact | None = None,
    predecessor: str | None = None,
) -> str:
    """Deploy a ledger of ``artifact``, allow-list the site and the OEM, register the released
    design and licence it to the site: what the consortium admin and the OEM do."""
    async with await _client(anvil, "admin", artifact=artifact) as admin:
        await admin.deploy(predecessor)
        await admin.add_issuer(SITE)
        await admin.add_oem(site_key("oem").address)
        address = admin.contract_address
    oem = make_site(folder, await _client(anvil, "oem", address, artifact), role="oem")
    try:
        await oem.service.register_design(released, licensee=SITE, quota=5)
    finally:
        await _close(oem.service.chain)
        oem.store.close()
    return address


async def _close(chain: ChainClient | None) -> None:
    assert chain is not None
    await chain.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def upgrade(anvil: LocalAnvil, tmp_path_factory: pytest.TempPathFactory) -> Upgrade:
    folder = tmp_path_factory.mktemp("upgrade")
    released = write_design(folder / "released")
    v1 = await _licensed_ledger(anvil, released, folder / "oem-v1", V1)
    site = make_site(folder / "site", await _client(anvil, "issuer", v1, V1))
    site.install(released)
    await site.print_part("OLD-1")
    assert (await site.anchor_now()).failures == []
    old = await site.service.bundle("OLD-1")
    await _close(site.service.chain)
    site.store.close()

    v2 = await _licensed_ledger(anvil, released, folder / "oem-v2", predecessor=v1)
    again = make_site(folder / "site", await _client(anvil, "issuer", v2))
    try:
        resent = len((await again.service.reconcile()).anchored)
        await again.print_part("NEW-1")
        assert (await again.anchor_now()).failures == []
        new = await again.service.bundle("NEW-1")
    finally:
        await _close(again.service.chain)
        again.store.close()
    return Upgrade(v1, v2, old, new, resent)


@pytest_asyncio.fixture(loop_scope="session")
async def verifier(anvil: LocalAnvil, upgrade: Upgrade) -> AsyncIterator[ChainClient]:
    """A verifier that trusts the version 2 ledger only."""
    async with await _client(anvil, "outsider", upgrade.v2) as client:
        yield client


async def test_old_and_new_bundles_verify_online_against_the_new_ledger(
    upgrade: Upgrade, verifier: ChainClient
) -> None:
    assert verifier.predecessor == upgrade.v1
    assert upgrade.old.certificate.anchor is not None
    assert upgrade.old.certificate.anchor.contract == upgrade.v1
    assert upgrade.new.certificate.anchor is not None
    assert upgrade.new.certificate.anchor.contract == upgrade.v2
    for bundle in (upgrade.old, upgrade.new):
        report = await verify_online(bundle, verifier)
        assert report.valid, report.reasons


async def test_an_old_bundle_verifies_as_before_against_the_old_ledger(
    anvil: LocalAnvil, upgrade: Upgrade
) -> None:
    async with await _client(anvil, "outsider", upgrade.v1, V1) as old_verifier:
        report = await verify_online(upgrade.old, old_verifier)
    assert report.valid, report.reasons
    anchor_checks = [c.name for c in report.checks if c.name.startswith("certificate ")][-4:]
    assert anchor_checks == [
        "certificate chain",
        "certificate contract",
        "certificate anchored",
        "certificate transaction",
    ]


async def test_the_restarted_site_does_not_anchor_its_old_batches_again(upgrade: Upgrade) -> None:
    assert upgrade.resent_after_upgrade == 0


async def test_a_bundle_naming_a_transaction_of_another_contract_fails(
    anvil: LocalAnvil, upgrade: Upgrade, verifier: ChainClient
) -> None:
    anchor = upgrade.new.certificate.anchor
    assert anchor is not None
    async with await _client(anvil, "outsider") as forger:  # its own ledger, its own allow-list
        await forger.deploy()
        await forger.add_issuer(forger.address)
        forged = await forger.anchor(bytes.fromhex(anchor.root), anchor.size)
    report = await verify_online(
        _with_anchor(
            upgrade.new, tx_hash="0x" + forged.tx_hash.hex(), block_number=forged.block_number
        ),
        verifier,
    )
    assert not report.valid
    failed = [c.name for c in report.checks if not c.passed]
    assert {"certificate anchored", "certificate transaction"} <= set(failed), report.reasons
    renamed = _with_anchor(upgrade.new, contract=forger.contract_address)
    assert "certificate contract" in [
        c.name for c in (await verify_online(renamed, verifier)).checks if not c.passed
    ]


async def test_a_bundle_naming_another_block_or_another_anchor_fails(
    upgrade: Upgrade, verifier: ChainClient
) -> None:
    anchor = upgrade.new.certificate.anchor
    old = upgrade.old.certificate.anchor
    assert anchor is not None
    assert old is not None
    moved = _with_anchor(upgrade.new, block_number=anchor.block_number - 1)
    report = await verify_online(moved, verifier)
    assert [c.name for c in report.checks if not c.passed] == [
        "certificate anchored",
        "certificate transaction",
    ]
    other = _with_anchor(upgrade.new, tx_hash=old.tx_hash, block_number=old.block_number)
    report = await verify_online(other, verifier)
    assert "certificate anchored" in [c.name for c in report.checks if not c.passed]


def _with_anchor(bundle: ProofBundle, **changes: object) -> ProofBundle:
    """``bundle`` with its certificate's anchor receipt altered."""
    raw = json.loads(bundle_json(bundle))
    raw["certificate"]["anchor"].update(changes)
    return read_bundle(json.dumps(raw))


async def test_licence_history_reads_on_across_the_upgrade(
    upgrade: Upgrade, verifier: ChainClient
) -> None:
    old, new = upgrade.old.certificate.anchor, upgrade.new.certificate.anchor
    assert old is not None
    assert new is not None
    counted = await verifier.pieces_counted(DESIGN, SITE)
    assert [(block, pieces) for block, _, pieces in counted] == [
        (old.block_number, 1),
        (new.block_number, 1),
    ]
    assert len(await verifier.licence_grants(DESIGN, SITE)) == 2
    assert (await verifier.licence_at(DESIGN, SITE, old.block_number)).used == 1
    assert (await verifier.licence(DESIGN, SITE)).used == 1  # counted anew on the new ledger


async def test_an_anchor_is_found_by_its_transaction_on_either_ledger(
    upgrade: Upgrade, verifier: ChainClient
) -> None:
    for bundle in (upgrade.old, upgrade.new):
        anchor = bundle.certificate.anchor
        assert anchor is not None
        found = await verifier.anchor_in(
            bytes.fromhex(anchor.root), bytes.fromhex(anchor.tx_hash[2:])
        )
        assert found is not None
        assert (found.issuer, found.size, found.block_number) == (SITE, 1, anchor.block_number)


async def test_design_lines_and_dossiers_keep_their_oem_and_hash_across_the_upgrade(
    anvil: LocalAnvil, upgrade: Upgrade, verifier: ChainClient
) -> None:
    oem = site_key("oem").address
    assert await verifier.design_line_oem("pump-impeller") == oem
    async with await _client(anvil, "admin", upgrade.v2) as admin:
        await admin.add_oem(site_key("other_oem").address)
    async with await _client(anvil, "other_oem", upgrade.v2) as other:
        with pytest.raises(ContractError) as caught:
            await other.register_design("pump-impeller", "D", bytes(31) + b"\x01")
    assert caught.value.name == "DesignLineOwned"
    async with await _client(anvil, "oem", upgrade.v2) as owner:
        with pytest.raises(ContractError) as caught:
            await owner.register_design("pump-impeller", "C", bytes(31) + b"\x02")
    assert caught.value.name == "DesignAlreadyRegistered"


async def test_a_revision_registered_only_on_the_old_ledger_keeps_its_dossier(
    anvil: LocalAnvil, upgrade: Upgrade
) -> None:
    async with await _client(anvil, "oem", upgrade.v1, V1) as old:
        await old.register_design("pump-impeller", "E", DOSSIER_E)
    key = design_key("pump-impeller", "E")
    async with await _client(anvil, "oem", upgrade.v2) as owner:
        assert await owner.dossier_hash(key) == DOSSIER_E  # read through to the old ledger
        assert await owner.design_oem(key) == owner.address
        with pytest.raises(ContractError) as caught:
            await owner.register_design("pump-impeller", "E", bytes(31) + b"\x03")
        assert caught.value.name == "DesignAlreadyRegistered"
        await owner.set_licence(key, SITE, 2)  # licensed on the new ledger by its OEM
        assert (await owner.licence(key, SITE)).quota == 2
