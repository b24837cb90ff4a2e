"""The ledger contract through ChainClient on a real anvil: roles, sequenced anchors, licences."""

from __future__ import annotations

import asyncio
import hashlib
from functools import partial

import pytest
from eth_utils.crypto import keccak

from ledger.canonical import design_key
from ledger.chain import ChainClient
from ledger.contract import OPEN_END, LicenceState
from ledger.errors import ChainError, ContractError
from ledger.merkle import hash_leaf, root_hash
from tests.integration.ledger.ledger_chainkit import CHAIN_ID, DEV_KEYS, Ledger
from tests.support import free_port, wait_for

IMPELLER_C = design_key("pump-impeller", "C")
IMPELLER_D = design_key("pump-impeller", "D")
DOSSIER_C = hashlib.sha256(b"impeller dossier, revision C").digest()
DOSSIER_D = hashlib.sha256(b"impeller dossier, revision D").digest()
IMPELLER_LINE = keccak(b'"pump-impeller"')


def batch_root(label: str, size: int = 4) -> bytes:
    return root_hash([hash_leaf(f"{label}/{i}".encode()) for i in range(size)])


async def licensed(ledger: Ledger, quota: int) -> None:
    """Make the issuer an issuer, the OEM an OEM with design C, and licence C to the issuer."""
    await ledger.admin.add_issuer(ledger.issuer.address)
    await ledger.admin.add_oem(ledger.oem.address)
    await ledger.oem.register_design("pump-impeller", "C", DOSSIER_C)
    await ledger.oem.set_licence(IMPELLER_C, ledger.issuer.address, quota)


# --- connecting and deploying ---


async def test_deployer_becomes_admin_and_clients_attach(ledger: Ledger) -> None:
    assert await ledger.issuer.admin() == ledger.admin.address
    assert ledger.issuer.contract_address == ledger.admin.contract_address
    assert not await ledger.issuer.is_issuer(ledger.issuer.address)


async def test_deploy_reports_address_and_event(anvil_url: str) -> None:
    async with await ChainClient.connect(anvil_url, CHAIN_ID, DEV_KEYS["outsider"]) as client:
        outcome = await client.deploy()
        assert outcome.contract_address == client.contract_address
        [event] = outcome.events_named("AdminTransferred")
        assert event.args == {
            "previousAdmin": "0x" + "00" * 20,
            "newAdmin": client.address,
        }


async def test_connect_refuses_another_chain_id(anvil_url: str) -> None:
    with pytest.raises(ChainError, match=f"serves chain id {CHAIN_ID}, not the configured 1"):
        await ChainClient.connect(anvil_url, 1, DEV_KEYS["admin"])


async def test_connect_refuses_a_node_that_is_not_there() -> None:
    with pytest.raises(ChainError, match="cannot reach the chain"):
        await ChainClient.connect(
            f"http://127.0.0.1:{free_port()}", CHAIN_ID, DEV_KEYS["admin"], retries=1
        )


async def test_an_invalid_key_is_refused_without_echoing_it(anvil_url: str) -> None:
    secret = "0x" + "ab" * 31
    with pytest.raises(ChainError, match="not a valid secp256k1 key") as caught:
        await ChainClient.connect(anvil_url, CHAIN_ID, secret)
    assert "ab" * 31 not in caught.value.diagnostics()
    assert caught.value.__cause__ is None


async def test_use_contract_refuses_an_address_without_the_ledger(ledger: Ledger) -> None:
    with pytest.raises(ChainError, match="no trustfloor ledger"):
        await ledger.outsider.use_contract(ledger.oem.address)


async def test_calls_before_choosing_a_contract_fail_clearly(anvil_url: str) -> None:
    async with await ChainClient.connect(anvil_url, CHAIN_ID, DEV_KEYS["admin"]) as client:
        with pytest.raises(ChainError, match="no ledger contract selected"):
            await client.is_issuer(client.address)


# --- issuer allow-list ---


async def test_only_allow_listed_issuers_anchor(ledger: Ledger) -> None:
    root = batch_root("allow-list")
    with pytest.raises(ContractError) as caught:
        await ledger.issuer.anchor(root, 4)
    assert caught.value.name == "NotIssuer"
    assert caught.value.arguments == (ledger.issuer.address,)
    assert "allow-list" in caught.value.advice

    added = await ledger.admin.add_issuer(ledger.issuer.address)
    assert [e.args for e in added.events_named("IssuerAdded")] == [
        {"issuer": ledger.issuer.address}
    ]
    assert await ledger.outsider.is_issuer(ledger.issuer.address)
    await ledger.issuer.anchor(root, 4)

    removed = await ledger.admin.remove_issuer(ledger.issuer.address)
    assert removed.events_named("IssuerRemoved")
    with pytest.raises(ContractError, match="NotIssuer"):
        await ledger.issuer.anchor(batch_root("after removal"), 4)
    assert await ledger.outsider.anchored_at(root) is not None  # past anchors stay


async def test_only_the_admin_manages_the_allow_lists(ledger: Ledger) -> None:
    for attempt in (
        ledger.outsider.add_issuer(ledger.outsider.address),
        ledger.outsider.add_oem(ledger.outsider.address),
        ledger.issuer.transfer_admin(ledger.issuer.address),
    ):
        with pytest.raises(ContractError) as caught:
            await attempt
        assert (caught.value.name, caught.value.arguments) == (
            "NotAdmin",
            (caught.value.arguments[0],),
        )
    assert not await ledger.admin.is_issuer(ledger.outsider.address)


async def test_adding_an_issuer_twice_is_idempotent(ledger: Ledger) -> None:
    await ledger.admin.add_issuer(ledger.issuer.address)
    again = await ledger.admin.add_issuer(ledger.issuer.address)
    assert again.events == ()
    assert await ledger.admin.is_issuer(ledger.issuer.address)


async def test_admin_role_can_be_handed_over(ledger: Ledger) -> None:
    await ledger.admin.transfer_admin(ledger.outsider.address)
    assert await ledger.admin.admin() == ledger.outsider.address
    with pytest.raises(ContractError, match="NotAdmin"):
        await ledger.admin.add_issuer(ledger.issuer.address)
    await ledger.outsider.add_issuer(ledger.issuer.address)


# --- anchors: events numbered per issuer ---


async def test_anchor_records_root_size_issuer_and_block_time(ledger: Ledger) -> None:
    await ledger.admin.add_issuer(ledger.issuer.address)
    root = batch_root("record", 7)
    outcome = await ledger.issuer.anchor(root, 7)

    [event] = outcome.events_named("Anchored")
    block = await ledger.rpc("eth_getBlockByNumber", hex(outcome.block_number), False)
    assert event.args == {"root": root, "issuer": ledger.issuer.address, "size": 7, "sequence": 0}
    record = await ledger.outsider.anchor_in(root, outcome.tx_hash, ledger.admin.contract_address)
    assert record == await ledger.outsider.anchored_at(root)
    assert record is not None
    assert (record.root, record.size, record.issuer) == (root, 7, ledger.issuer.address)
    assert (record.block_number, record.timestamp) == (
        outcome.block_number,
        int(block["timestamp"], 16),
    )
    assert await ledger.outsider.anchored_at(batch_root("never anchored")) is None


async def test_each_sequence_number_anchors_once(ledger: Ledger) -> None:
    await ledger.admin.add_issuer(ledger.issuer.address)
    await ledger.admin.add_issuer(ledger.outsider.address)
    root = batch_root("sequenced")
    assert await ledger.issuer.next_sequence() == 0
    first = await ledger.issuer.anchor(root, 4, sequence=0)
    for taken in (0, 2):
        with pytest.raises(ContractError) as caught:
            await ledger.issuer.anchor(root, 5, sequence=taken)
        assert caught.value.name == "WrongSequence"
        assert caught.value.arguments == (ledger.issuer.address, taken, 1)
    assert await ledger.issuer.next_sequence() == 1
    await ledger.outsider.anchor(root, 4, sequence=0)  # each issuer numbers its own anchors
    record = await ledger.outsider.anchored_at(root)
    assert record is not None
    assert (record.size, record.issuer, record.block_number) == (
        4,
        ledger.issuer.address,
        first.block_number,
    )
    found = await ledger.outsider.own_anchor(root)
    assert found is not None
    assert found[0] == ledger.admin.contract_address
    assert found[1].tx_hash != first.tx_hash


@pytest.mark.parametrize(
    ("root", "size", "error"),
    [(bytes(32), 4, "ZeroValue"), (b"\x01" * 32, 0, "EmptyBatch")],
    ids=["zero-root", "empty-batch"],
)
async def test_empty_batches_and_zero_roots_are_refused(
    ledger: Ledger, root: bytes, size: int, error: str
) -> None:
    await ledger.admin.add_issuer(ledger.issuer.address)
    with pytest.raises(ContractError) as caught:
        await ledger.issuer.anchor(root, size)
    assert caught.value.name == error


async def test_concurrent_anchors_from_one_account_get_distinct_nonces(ledger: Ledger) -> None:
    await ledger.admin.add_issuer(ledger.issuer.address)
    roots = [batch_root(f"concurrent {i}") for i in range(6)]
    outcomes = await asyncio.gather(*(ledger.issuer.anchor(r, 4) for r in roots))
    assert len({o.tx_hash for o in outcomes}) == 6
    for root in roots:
        assert await ledger.outsider.anchored_at(root) is not None


async def test_a_race_lost_on_chain_is_reported_by_its_contract_error(ledger: Ledger) -> None:
    await ledger.admin.add_issuer(ledger.issuer.address)
    await ledger.admin.add_issuer(ledger.outsider.address)
    root = batch_root("race")
    async with await ChainClient.connect(
        ledger.url, CHAIN_ID, DEV_KEYS["issuer"], contract_address=ledger.admin.contract_address
    ) as restarted:
        racers = await _mined_together(ledger, root, (ledger.issuer, restarted))
    errors = [r for r in racers if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], ContractError)
    assert errors[0].name == "WrongSequence"


def _pending_at_least(count: int, status: dict[str, str]) -> bool:
    return int(status["pending"], 16) >= count


async def _mined_together(
    ledger: Ledger, root: bytes, clients: tuple[ChainClient, ChainClient]
) -> list[object]:
    """Both clients anchor ``root`` with the sequence the chain shows, one after the other
    into the pool, mined in one block."""
    await ledger.rpc("evm_setAutomine", False)
    try:
        racers = []
        for client in clients:
            racers.append(asyncio.create_task(client.anchor(root, 4)))
            await wait_for(
                lambda: ledger.rpc("txpool_status"),
                partial(_pending_at_least, len(racers)),
                poll_s=0.01,
            )
        await ledger.rpc("evm_mine")
        results = await asyncio.gather(*racers, return_exceptions=True)
    finally:
        await ledger.rpc("evm_setAutomine", True)
    return list(results)


async def test_outcome_waits_for_the_requested_confirmations(
    ledger: Ledger, anvil_url: str
) -> None:
    await ledger.admin.add_issuer(ledger.issuer.address)
    async with await ChainClient.connect(
        anvil_url,
        CHAIN_ID,
        DEV_KEYS["issuer"],
        contract_address=ledger.admin.contract_address,
        confirmations=3,
    ) as careful:
        task = asyncio.create_task(careful.anchor(batch_root("confirmations"), 4))
        while not task.done():
            await ledger.rpc("evm_mine")
            await asyncio.sleep(0.02)
        outcome = await task
    head = int(await ledger.rpc("eth_blockNumber"), 16)
    assert head >= outcome.block_number + 2


# --- designs ---


async def test_only_oems_register_designs_once_per_revision(ledger: Ledger) -> None:
    with pytest.raises(ContractError) as caught:
        await ledger.oem.register_design("pump-impeller", "C", DOSSIER_C)
    assert (caught.value.name, caught.value.arguments) == ("NotOem", (ledger.oem.address,))

    added = await ledger.admin.add_oem(ledger.oem.address)
    assert [e.args for e in added.events_named("OemAdded")] == [{"oem": ledger.oem.address}]
    registered = await ledger.oem.register_design("pump-impeller", "C", DOSSIER_C)
    assert [e.args for e in registered.events_named("DesignRegistered")] == [
        {
            "designKey": IMPELLER_C,
            "oem": ledger.oem.address,
            "dossierHash": DOSSIER_C,
            "lineKey": IMPELLER_LINE,
        }
    ]
    assert await ledger.outsider.dossier_hash(IMPELLER_C) == DOSSIER_C

    with pytest.raises(ContractError) as again:
        await ledger.oem.register_design("pump-impeller", "C", DOSSIER_D)
    assert (again.value.name, again.value.arguments) == ("DesignAlreadyRegistered", (IMPELLER_C,))
    assert await ledger.outsider.dossier_hash(IMPELLER_C) == DOSSIER_C

    await ledger.oem.register_design("pump-impeller", "D", DOSSIER_D)  # a new revision, a new key
    assert await ledger.outsider.dossier_hash(IMPELLER_D) == DOSSIER_D
    assert await ledger.outsider.dossier_hash(design_key("pump-impeller", "E")) is None


async def test_a_removed_oem_cannot_register(ledger: Ledger) -> None:
    await ledger.admin.add_oem(ledger.oem.address)
    removed = await ledger.admin.remove_oem(ledger.oem.address)
    assert removed.events_named("OemRemoved")
    assert not await ledger.admin.is_oem(ledger.oem.address)
    with pytest.raises(ContractError, match="NotOem"):
        await ledger.oem.register_design("pump-impeller", "C", DOSSIER_C)


# --- licences ---


async def test_only_the_designs_oem_sets_its_licences(ledger: Ledger) -> None:
    await licensed(ledger, quota=5)
    await ledger.admin.add_oem(ledger.other_oem.address)
    with pytest.raises(ContractError) as caught:
        await ledger.other_oem.set_licence(IMPELLER_C, ledger.issuer.address, 100)
    assert caught.value.name == "NotDesignOem"
    assert caught.value.arguments == (IMPELLER_C, ledger.other_oem.address)
    with pytest.raises(ContractError, match="NotOem"):
        await ledger.outsider.set_licence(IMPELLER_C, ledger.outsider.address, 100)
    with pytest.raises(ContractError, match="UnknownDesign"):
        await ledger.oem.set_licence(IMPELLER_D, ledger.issuer.address, 100)
    assert await ledger.outsider.licence(IMPELLER_C, ledger.issuer.address) == LicenceState(5, 0)


async def test_anchoring_counts_pieces_until_the_quota(ledger: Ledger) -> None:
    await licensed(ledger, quota=5)
    first = await ledger.issuer.anchor(batch_root("pieces 1"), 4, {IMPELLER_C: 3})
    [counted] = first.events_named("PiecesCounted")
    assert counted.args == {
        "designKey": IMPELLER_C,
        "licensee": ledger.issuer.address,
        "pieces": 3,
        "used": 3,
    }
    assert await ledger.outsider.licence(IMPELLER_C, ledger.issuer.address) == LicenceState(5, 3)

    over = batch_root("pieces 2")
    with pytest.raises(ContractError) as caught:
        await ledger.issuer.anchor(over, 4, {IMPELLER_C: 3})
    assert caught.value.name == "QuotaExceeded"
    assert caught.value.arguments == (IMPELLER_C, ledger.issuer.address, 5, 0, 3, 3)
    assert await ledger.outsider.anchored_at(over) is None  # the whole call reverted

    await ledger.issuer.anchor(batch_root("pieces 3"), 2, {IMPELLER_C: 2})
    state = await ledger.outsider.licence(IMPELLER_C, ledger.issuer.address)
    assert (state.quota, state.used, state.remaining) == (5, 5, 0)
    with pytest.raises(ContractError, match="QuotaExceeded"):
        await ledger.issuer.anchor(batch_root("pieces 4"), 1, {IMPELLER_C: 1})


async def test_licences_are_per_licensee_and_can_be_raised(ledger: Ledger) -> None:
    await licensed(ledger, quota=1)
    await ledger.admin.add_issuer(ledger.outsider.address)
    with pytest.raises(ContractError, match="NoLicence"):  # no licence of its own
        await ledger.outsider.anchor(batch_root("unlicensed"), 1, {IMPELLER_C: 1})
    raised = await ledger.oem.set_licence(IMPELLER_C, ledger.issuer.address, 3)
    assert [e.args for e in raised.events_named("LicenceSet")] == [
        {
            "designKey": IMPELLER_C,
            "licensee": ledger.issuer.address,
            "quota": 3,
            "overdraft": 0,
            "validFrom": 0,
            "validUntil": OPEN_END,
            "priceMicros": 0,
            "currency": bytes(3),
        }
    ]
    await ledger.issuer.anchor(batch_root("raised"), 3, {IMPELLER_C: 3})
    assert await ledger.outsider.licence(IMPELLER_C, ledger.issuer.address) == LicenceState(3, 3)


async def test_piece_counts_must_fit_the_batch_and_name_known_designs(ledger: Ledger) -> None:
    await licensed(ledger, quota=100)
    with pytest.raises(ContractError) as caught:
        await ledger.issuer.anchor(batch_root("too many"), 2, {IMPELLER_C: 3})
    assert (caught.value.name, caught.value.arguments) == ("PiecesExceedBatch", (3, 2))
    with pytest.raises(ContractError) as unknown:
        await ledger.issuer.anchor(batch_root("unknown"), 2, {IMPELLER_D: 1})
    assert (unknown.value.name, unknown.value.arguments) == ("UnknownDesign", (IMPELLER_D,))
    assert await ledger.outsider.licence(IMPELLER_C, ledger.issuer.address) == LicenceState(100, 0)


async def test_bad_arguments_are_refused_before_signing(ledger: Ledger) -> None:
    with pytest.raises(ChainError, match="root must be 32 bytes"):
        await ledger.issuer.anchor(b"short", 1)
    with pytest.raises(ChainError, match="batch size must fit in 64 unsigned bits"):
        await ledger.issuer.anchor(b"\x01" * 32, 2**64)
    with pytest.raises(ChainError, match="is not an Ethereum address"):
        await ledger.admin.add_issuer("0x1234")
