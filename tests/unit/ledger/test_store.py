"""The ledger store on a real SQLite file: durability settings, jobs, leaves, batches, proofs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.batcher import BatchPolicy
from ledger.canonical import design_key
from ledger.errors import LedgerStateError
from ledger.evidence import evaluate
from ledger.issuing import Issuer
from ledger.merkle import verify_inclusion
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from ledger.tables import BatchState, JobState
from models.parts import AnchorReceipt, PrintJob, RecordKind, Sample
from tests.unit.ledger.ledgerkit import (
    DEV_KEY_0,
    T0,
    certificate,
    design_ref,
    good_samples,
    sealed_store,
)

KEY = SiteKey.from_hex(DEV_KEY_0)
POLICY = BatchPolicy(3, timedelta(seconds=60))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LedgerStore]:
    opened = LedgerStore(tmp_path / "ledger.sqlite")
    yield opened
    opened.close()


def test_the_store_is_durable_on_commit(store: LedgerStore) -> None:
    with sqlite3.connect(store.path) as probe:
        assert probe.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db = store._db  # the setting is per connection: read it on the store's own
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_sealed_batches_carry_proofs_that_verify(tmp_path: Path) -> None:
    store, _, serials = sealed_store(tmp_path, count=7)
    [batch] = store.batches()
    assert (batch.size, batch.state) == (7, BatchState.ANCHORED)
    for index, serial in enumerate(serials):
        row = store.leaf(serial, RecordKind.CERTIFICATE)
        assert row is not None
        assert row.batch is not None
        assert row.leaf_index == index
        verify_inclusion(index, 7, row.leaf_hash, row.proof, batch.root)
    store.close()


def test_what_was_appended_survives_a_reopen(tmp_path: Path) -> None:
    store, _, serials = sealed_store(tmp_path, count=2)
    before = store.leaf(serials[1], RecordKind.CERTIFICATE)
    store.close()
    reopened = LedgerStore(tmp_path / "ledger.sqlite")
    assert reopened.leaf(serials[1], RecordKind.CERTIFICATE) == before
    reopened.close()


def test_batches_are_sealed_oldest_first_up_to_the_size(store: LedgerStore, tmp_path: Path) -> None:
    _, ref = design_ref(tmp_path)
    issuer = Issuer(store, KEY, POLICY)
    issuer.issue_certificates([certificate(f"S-{i}", ref, KEY.address) for i in range(7)])
    assert store.pending() == (7, (T0 + timedelta(seconds=30)).timestamp() * 1_000_000)
    sealed = issuer.seal_due(T0 + timedelta(seconds=31))
    assert [b.size for b in sealed] == [3, 3]
    assert store.pending()[0] == 1
    assert [b.size for b in issuer.seal_due(T0 + timedelta(seconds=91))] == [1]
    assert store.seal(3, T0) is None
    first = store.leaf("S-0", RecordKind.CERTIFICATE)
    last = store.leaf("S-6", RecordKind.CERTIFICATE)
    assert first is not None
    assert first.batch is not None
    assert first.batch.id == sealed[0].id
    assert last is not None
    assert last.batch is not None
    assert last.batch.size == 1


def test_a_serial_gets_one_certificate_and_a_failed_append_writes_nothing(
    store: LedgerStore, tmp_path: Path
) -> None:
    _, ref = design_ref(tmp_path)
    issuer = Issuer(store, KEY, POLICY)
    issuer.issue_certificates([certificate("S-1", ref, KEY.address)])
    with pytest.raises(LedgerStateError, match="already issued"):
        issuer.issue_certificates([certificate(s, ref, KEY.address) for s in ("S-2", "S-1", "S-3")])
    assert store.leaf("S-2", RecordKind.CERTIFICATE) is None
    assert store.pending()[0] == 1


def job(serial: str, ref_tmp: Path) -> tuple[PrintJob, bytes]:
    _, ref = design_ref(ref_tmp)
    printed = PrintJob(
        job_id=f"J-{serial}",
        serial=serial,
        design=ref,
        printer="am-cell-2",
        order_id="PO-1",
        material_lot="L-1",
        layers_planned=412,
        started_at=T0,
    )
    return printed, design_key(ref.id, ref.revision)


def test_a_job_takes_samples_while_printing_then_is_certified(
    store: LedgerStore, tmp_path: Path
) -> None:
    printed, key = job("S-9", tmp_path)
    store.start_job(printed, key)
    samples = good_samples(seconds=3)
    assert store.add_samples(printed.job_id, samples) == len(samples)
    assert store.add_samples(printed.job_id, samples[:2]) == 0  # a replay adds nothing
    assert sorted(store.samples(printed.job_id)) == sorted(samples)
    with pytest.raises(LedgerStateError, match="already exists"):
        store.start_job(printed, key)

    evidence = evaluate(
        samples,
        {},
        started_at=T0,
        ended_at=T0 + timedelta(seconds=3),
        layers_done=412,
        layers_planned=412,
    )
    store.finish_job(printed.job_id, evidence)
    with pytest.raises(LedgerStateError, match="is finished, not printing"):
        store.add_samples(printed.job_id, [Sample("x", T0, 1.0)])
    record = store.job_by_serial("S-9")
    assert (record.state, record.evidence) == (JobState.FINISHED, evidence)

    cert = certificate("S-9", printed.design, KEY.address)
    Issuer(store, KEY, POLICY).issue_certificates([cert], job_ids=[printed.job_id])
    assert store.job(printed.job_id).state is JobState.CERTIFIED


def test_a_certificate_needs_its_job_finished(store: LedgerStore, tmp_path: Path) -> None:
    printed, key = job("S-8", tmp_path)
    store.start_job(printed, key)
    cert = certificate("S-8", printed.design, KEY.address)
    with pytest.raises(LedgerStateError, match="is printing, not finished"):
        Issuer(store, KEY, POLICY).issue_certificates([cert], job_ids=[printed.job_id])
    assert store.leaf("S-8", RecordKind.CERTIFICATE) is None


def test_unanchored_pieces_count_jobs_and_certificates_until_anchored(
    store: LedgerStore, tmp_path: Path
) -> None:
    printed, key = job("S-7", tmp_path)
    store.start_job(printed, key)
    issuer = Issuer(store, KEY, POLICY)
    issuer.issue_certificates([certificate(f"S-{i}", printed.design, KEY.address) for i in (1, 2)])
    assert store.unanchored_pieces(key) == 3
    batch = store.seal(10, T0)
    assert batch is not None
    assert store.batch_pieces(batch.id) == {key: 2}
    assert store.unanchored_pieces(key) == 3  # sealed is not anchored
    store.record_anchor(
        batch.id,
        AnchorReceipt(
            chain_id=1,
            contract="0x" + "11" * 20,
            tx_hash="0x" + "22" * 32,
            block_number=1,
            root=batch.root.hex(),
            size=batch.size,
        ),
    )
    assert store.unanchored_pieces(key) == 1
    assert store.unanchored_pieces(design_key("other", "A")) == 0


def test_refusals_are_kept_newest_first(store: LedgerStore) -> None:
    store.record_refusal(T0, "S-1", "design x revision A", "first")
    store.record_refusal(T0, "S-2", "design x revision A", "second")
    assert [r.reason for r in store.refusals()] == ["second", "first"]
