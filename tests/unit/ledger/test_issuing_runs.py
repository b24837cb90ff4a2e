"""Issuing in runs: the records of one transaction, each run durable, earlier runs kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ledger.batcher import BatchPolicy
from ledger.errors import LedgerStateError
from ledger.issuing import Issuer
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from models.parts import RecordKind
from tests.unit.ledger.ledgerkit import DEV_KEY_0, certificate, design_ref

KEY = SiteKey.from_hex(DEV_KEY_0)
POLICY = BatchPolicy(1000, timedelta(seconds=60))


def test_runs_issue_the_records_one_transaction_issues(tmp_path: Path) -> None:
    _, ref = design_ref(tmp_path)
    certs = [certificate(f"S-{i}", ref, KEY.address) for i in range(7)]
    whole, runs = LedgerStore(tmp_path / "whole.sqlite"), LedgerStore(tmp_path / "runs.sqlite")
    expected = Issuer(whole, KEY, POLICY).issue_certificates(certs)
    assert Issuer(runs, KEY, POLICY).issue_in_runs(certs, 3) == expected
    stored = [runs.leaf(c.serial, RecordKind.CERTIFICATE) for c in certs]
    assert [(r.body, r.signature) for r in stored if r] == [(s.body, s.signature) for s in expected]
    whole.close()
    runs.close()


def test_a_failed_run_keeps_the_runs_before_it_and_writes_nothing_after(tmp_path: Path) -> None:
    _, ref = design_ref(tmp_path)
    store = LedgerStore(tmp_path / "ledger.sqlite")
    issuer = Issuer(store, KEY, POLICY)
    issuer.issue_certificates([certificate("S-4", ref, KEY.address)])
    certs = [certificate(f"S-{i}", ref, KEY.address) for i in range(8)]
    with pytest.raises(LedgerStateError, match="already issued"):
        issuer.issue_in_runs(certs, 3)  # the second run, S-3 to S-5, holds S-4 again
    kept = [c.serial for c in certs if store.leaf(c.serial, RecordKind.CERTIFICATE)]
    assert kept == ["S-0", "S-1", "S-2", "S-4"]
    with pytest.raises(ValueError, match="at least one"):
        issuer.issue_in_runs(certs, 0)
    store.close()
