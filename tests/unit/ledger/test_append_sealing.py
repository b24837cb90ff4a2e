"""Sealing full batches in the transaction that appends: the batches sealing one by one gives."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ledger.batcher import BatchPolicy
from ledger.errors import LedgerStateError
from ledger.issuing import Issuer, SignedRecord
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from ledger.tables import NewLeaf
from ledger.transparency import Signer
from models.parts import RecordKind
from tests.unit.ledger.ledgerkit import DEV_KEY_0, T0, certificate, design_ref, signed_certificate

KEY = SiteKey.from_hex(DEV_KEY_0)
LOG = Signer.from_seed("example.com/site-log", bytes(range(32)))
Placement = tuple[str, int | None, int | None, tuple[bytes, ...]]


def leaves_of(tmp_path: Path, count: int) -> list[NewLeaf]:
    _, ref = design_ref(tmp_path)
    return [
        new_leaf(signed_certificate(KEY, certificate(f"S-{i:03d}", ref, KEY.address)))
        for i in range(count)
    ]


def new_leaf(signed: SignedRecord) -> NewLeaf:
    return NewLeaf(signed.kind, signed.serial, signed.body, signed.leaf_hash, signed.signature, T0)


def placements(store: LedgerStore, leaves: list[NewLeaf]) -> list[Placement]:
    """Each leaf's serial, batch, index in it and proof, as stored."""
    rows = [store.leaf(leaf.serial, RecordKind.CERTIFICATE) for leaf in leaves]
    return [(r.serial, r.batch.id if r.batch else None, r.leaf_index, r.proof) for r in rows if r]


def batches(store: LedgerStore) -> list[tuple[bytes, int]]:
    return [(b.root, b.size) for b in store.batches()]


@pytest.mark.parametrize("log", [None, LOG], ids=["without a log", "into the site log"])
@pytest.mark.parametrize(("waiting", "runs"), [(0, (7,)), (2, (3, 9, 1)), (8, (4,)), (0, (2,))])
def test_sealing_while_appending_gives_the_batches_of_sealing_afterwards(
    tmp_path: Path, waiting: int, runs: tuple[int, ...], log: Signer | None
) -> None:
    leaves = leaves_of(tmp_path, waiting + sum(runs))
    one_by_one = LedgerStore(tmp_path / "apart.sqlite")
    at_once = LedgerStore(tmp_path / "together.sqlite")
    for store in (one_by_one, at_once):
        store.log_signer = log
        store.append(leaves[:waiting])
    start, returned = waiting, []
    for size in runs:
        one_by_one.append(leaves[start : start + size])
        while one_by_one.pending()[0] >= 3:
            one_by_one.seal(3, T0)
        returned += at_once.append_sealing(leaves[start : start + size], 3, T0)
        start += size
    assert batches(at_once) == batches(one_by_one)
    assert [(b.root, b.size) for b in returned] == batches(one_by_one)
    assert placements(at_once, leaves) == placements(one_by_one, leaves)
    assert at_once.pending() == one_by_one.pending()
    assert at_once.checkpoints() == one_by_one.checkpoints()
    assert at_once.log_hashes() == one_by_one.log_hashes()
    one_by_one.close()
    at_once.close()


@pytest.mark.parametrize("log", [None, LOG], ids=["without a log", "into the site log"])
def test_a_refused_run_seals_nothing(tmp_path: Path, log: Signer | None) -> None:
    leaves = leaves_of(tmp_path, 5)
    store = LedgerStore(tmp_path / "ledger.sqlite")
    store.log_signer = log
    store.append(leaves[:2])
    with pytest.raises(LedgerStateError, match="already issued"):
        store.append_sealing([*leaves[2:4], leaves[1]], 3, T0)
    assert (store.batches(), store.pending()[0], store.checkpoints()) == ([], 2, [])
    with pytest.raises(ValueError, match="at least one"):
        store.append_sealing(leaves[2:], 0, T0)
    store.close()


def test_with_the_site_log_full_batches_grow_the_log(tmp_path: Path) -> None:
    leaves = leaves_of(tmp_path, 7)
    store = LedgerStore(tmp_path / "ledger.sqlite")
    store.log_signer = LOG
    sealed = store.append_sealing(leaves, 3, T0)
    assert [b.size for b in sealed] == [3, 6]  # a log batch names the log's size
    assert [c.size for c in store.checkpoints()] == [3, 6]
    assert store.pending()[0] == 1
    store.close()


def test_a_ledger_keeping_a_log_refuses_to_seal_without_its_key(tmp_path: Path) -> None:
    leaves = leaves_of(tmp_path, 6)
    store = LedgerStore(tmp_path / "ledger.sqlite")
    store.log_signer = LOG
    store.append_sealing(leaves[:3], 3, T0)
    store.log_signer = None
    with pytest.raises(LedgerStateError, match="needs its log key"):
        store.append_sealing(leaves[3:], 3, T0)
    assert store.pending()[0] == 0
    store.close()


def test_issuing_runs_that_seal_gives_the_records_and_batches_of_sealing_after(
    tmp_path: Path,
) -> None:
    _, ref = design_ref(tmp_path)
    certs = [certificate(f"S-{i}", ref, KEY.address) for i in range(8)]
    policy = BatchPolicy(3, timedelta(seconds=60))
    apart, together = LedgerStore(tmp_path / "a.sqlite"), LedgerStore(tmp_path / "b.sqlite")
    expected = Issuer(apart, KEY, policy).issue_in_runs(certs, 2)
    while apart.pending()[0] >= 3:
        apart.seal(3, T0)
    assert Issuer(together, KEY, policy).issue_in_runs(certs, 2, seal_at=T0) == expected
    assert batches(together) == batches(apart)
    assert together.pending()[0] == 2
    apart.close()
    together.close()
