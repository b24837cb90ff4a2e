"""A full disk names its real cause once, with advice, in every store; the data dir is private."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors import LogOnce, guarded
from connectors.errors import HistorianError
from connectors.historian import SpoolError
from connectors.historian.spool import Spool
from connectors.historian.sqlite import TelemetryStore
from ledger.batcher import BatchPolicy
from ledger.errors import StoreError
from ledger.issuing import Issuer
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from maintenance.durable import DurableFile
from maintenance.errors import MaintenanceError
from models import TrustfloorError, good
from models.storage import make_private_dir, storage_advice
from tests.unit.ledger.ledgerkit import DEV_KEY_0, certificate, design_ref

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ONE_BATCH = BatchPolicy(1000, timedelta(seconds=60))
BIG = "x" * 20_000
"""A value that needs new pages wherever it is written."""


def fill_up(db: sqlite3.Connection) -> None:
    """Let SQLite grow the file no further: the next write that needs a page gets SQLITE_FULL.

    The limit is per connection, so it is set on the store's own (as a full disk would act).
    """
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")


def assert_names_the_full_disk(error: TrustfloorError) -> None:
    text = error.diagnostics()
    assert "full" in str(error)
    assert "cannot rollback" not in text
    assert "free space" in error.advice


def test_historian_says_the_disk_is_full(tmp_path: Path) -> None:
    store = TelemetryStore(tmp_path / "telemetry.sqlite")
    store.write([good("m", "t", T0, 1.0)])
    fill_up(store._db)
    readings = [good("m", f"tag-{i}", T0, BIG) for i in range(3)]
    with pytest.raises(HistorianError) as caught:
        store.write(readings)
    assert_names_the_full_disk(caught.value)
    assert len(store.query("m", "t", T0, T0 + timedelta(seconds=1))) == 1


def test_spool_says_the_disk_is_full(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=10_000_000)
    spool.append([b"first"])
    fill_up(spool._db)
    with pytest.raises(SpoolError) as caught:
        spool.append([BIG.encode()] * 3)
    assert_names_the_full_disk(caught.value)
    assert spool.pending == 1


def test_durable_file_says_the_disk_is_full(tmp_path: Path) -> None:
    file = DurableFile(tmp_path / "d.sqlite", "CREATE TABLE t (v TEXT);", MaintenanceError)
    fill_up(file._db)
    with pytest.raises(MaintenanceError) as caught, file.transaction() as db:
        db.execute("INSERT INTO t VALUES (?)", (BIG,))
    assert_names_the_full_disk(caught.value)
    assert file.rows("SELECT COUNT(*) FROM t")[0][0] == 0


def test_ledger_store_says_the_disk_is_full_and_keeps_what_it_had(tmp_path: Path) -> None:
    key = SiteKey.from_hex(DEV_KEY_0)
    store = LedgerStore(tmp_path / "ledger.sqlite")
    issuer = Issuer(store, key, ONE_BATCH)
    _, ref = design_ref(tmp_path)
    issuer.issue_certificates([certificate("P-0001", ref, key.address)])
    fill_up(store._db)
    with pytest.raises(StoreError) as caught:
        issuer.issue_certificates(
            [certificate(f"P-{i:04d}", ref, key.address) for i in range(2, 60)]
        )
    assert_names_the_full_disk(caught.value)
    assert store.counts()["certificates_unanchored"] == 1


def test_unanchored_certificates_are_counted_until_their_batch_is_on_chain(
    tmp_path: Path,
) -> None:
    key = SiteKey.from_hex(DEV_KEY_0)
    store = LedgerStore(tmp_path / "ledger.sqlite")
    _, ref = design_ref(tmp_path)
    Issuer(store, key, ONE_BATCH).issue_certificates(
        [certificate(f"P-{i}", ref, key.address) for i in range(3)]
    )
    assert store.counts()["certificates_unanchored"] == 3
    batch = store.seal(1000, T0)
    assert batch is not None
    assert store.counts()["certificates_unanchored"] == 3  # sealed, not yet on chain


def test_advice_covers_sqlite_codes_and_os_errors() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    assert "free space" in storage_advice(full)
    assert "free space" in storage_advice(OSError(28, "No space left on device"))
    assert "permissions" in storage_advice(PermissionError(13, "Permission denied"))
    assert storage_advice(ValueError("other")) == ""


def test_a_failing_job_is_logged_once_then_quietly_then_its_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[Exception | None] = [
        StoreError("ledger store: database or disk is full", advice="free space"),
        StoreError("ledger store: database or disk is full", advice="free space"),
        None,
    ]

    async def job() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    run = guarded("ledger", job, LogOnce(logging.getLogger("jobs"), "scheduled job"))
    with caplog.at_level(logging.DEBUG, logger="jobs"):
        for _ in range(3):
            asyncio.run(run())
    levels = [(r.levelno, not r.exc_info) for r in caplog.records]
    assert levels == [(logging.WARNING, True), (logging.DEBUG, True), (logging.INFO, True)]
    assert "advice: free space" in caplog.records[0].getMessage()
    assert "recovered" in caplog.records[2].getMessage()


def test_an_unexpected_job_error_keeps_its_traceback_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def job() -> None:
        raise RuntimeError("bug")

    run = guarded("scoring", job, LogOnce(logging.getLogger("jobs"), "scheduled job"))
    with caplog.at_level(logging.DEBUG, logger="jobs"):
        asyncio.run(run())
        asyncio.run(run())
    first, second = caplog.records
    assert first.levelno == logging.WARNING
    assert first.exc_info is not None
    assert second.levelno == logging.DEBUG
    assert not second.exc_info


@pytest.fixture
def process_umask() -> Iterator[None]:
    """make_private_dir sets the process umask: put the test process's back afterwards."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@pytest.mark.usefixtures("process_umask")
def test_the_data_dir_is_made_private(tmp_path: Path) -> None:
    open_dir = tmp_path / "var"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    assert make_private_dir(open_dir) is True
    assert stat.S_IMODE(open_dir.stat().st_mode) == 0o700
    assert make_private_dir(open_dir) is False
    created = make_private_dir(tmp_path / "new" / "var")
    assert created is False
    assert stat.S_IMODE((tmp_path / "new" / "var").stat().st_mode) == 0o700
    (open_dir / "audit.log").write_text("x")
    assert stat.S_IMODE((open_dir / "audit.log").stat().st_mode) == 0o600
