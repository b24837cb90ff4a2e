"""Every SQLite store opens through one WAL opener: its durability level, its own error type."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.errors import HistorianError
from connectors.historian import SpoolError
from connectors.historian.spool import Spool
from connectors.historian.sqlite import TelemetryStore
from ledger.errors import StoreError
from ledger.store import LedgerStore
from maintenance.durable import DurableFile
from maintenance.errors import MaintenanceError
from models import TrustfloorError
from models.storage import Synchronous, failures_as, open_wal, transaction
from opcua_server.history.events import EventStore, EventStoreError

FULL, NORMAL = 2, 1
"""``PRAGMA synchronous`` answers for FULL and NORMAL."""

Opener = Callable[[Path], object]

STORES: dict[str, tuple[Opener, type[TrustfloorError], int]] = {
    "historian": (TelemetryStore, HistorianError, NORMAL),
    "spool": (lambda path: Spool(path, max_bytes=1000), SpoolError, FULL),
    "ledger": (LedgerStore, StoreError, FULL),
    "durable": (lambda path: DurableFile(path, "", MaintenanceError), MaintenanceError, FULL),
    "events": (EventStore, EventStoreError, FULL),
}


def connection(store: object) -> sqlite3.Connection:
    db = getattr(store, "_db", None)
    assert isinstance(db, sqlite3.Connection)
    return db


@pytest.mark.parametrize("name", STORES)
def test_each_store_is_a_wal_file_with_its_own_durability(name: str, tmp_path: Path) -> None:
    opener, _, synchronous = STORES[name]
    db = connection(opener(tmp_path / "data" / f"{name}.sqlite"))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == synchronous
    db.close()


@pytest.mark.parametrize("name", STORES)
def test_a_store_that_cannot_be_created_raises_its_own_error(name: str, tmp_path: Path) -> None:
    opener, error, _ = STORES[name]
    (tmp_path / "data").write_text("a file where the data directory should be")
    with pytest.raises(error) as caught:
        opener(tmp_path / "data" / f"{name}.sqlite")
    assert "cannot open" in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)


def test_a_file_that_is_not_a_database_names_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"not a database, not even close" * 100)
    with pytest.raises(StoreError) as caught:
        LedgerStore(path)
    assert "restore it from a backup" in caught.value.advice


def test_open_wal_applies_the_schema_in_one_transaction(tmp_path: Path) -> None:
    broken = "CREATE TABLE a (x INTEGER); CREATE TABLE a (x INTEGER);"
    with pytest.raises(MaintenanceError):
        open_wal(tmp_path / "s.sqlite", broken, Synchronous.FULL, error=MaintenanceError, label="s")
    db = sqlite3.connect(tmp_path / "s.sqlite")
    assert db.execute("SELECT name FROM sqlite_master").fetchall() == []
    db.close()


def insert_two_then_a_duplicate(db: sqlite3.Connection) -> None:
    with transaction(db, StoreError, "store t") as tx:
        tx.execute("INSERT INTO t VALUES (2)")
        tx.execute("INSERT INTO t VALUES (1)")


def test_a_transaction_commits_or_rolls_back_and_names_the_failure(tmp_path: Path) -> None:
    schema = "CREATE TABLE t (v INTEGER UNIQUE);"
    db = open_wal(tmp_path / "t.sqlite", schema, Synchronous.FULL, error=StoreError, label="t")
    with transaction(db, StoreError, "store t") as tx:
        tx.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(StoreError, match=r"^store t: UNIQUE constraint failed") as caught:
        insert_two_then_a_duplicate(db)
    assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
    assert [row[0] for row in db.execute("SELECT v FROM t")] == [1]
    assert not db.in_transaction
    db.close()


def test_chosen_failures_pass_through_unchanged(tmp_path: Path) -> None:
    schema = "CREATE TABLE t (v INTEGER UNIQUE);"
    db = open_wal(tmp_path / "t.sqlite", schema, Synchronous.FULL, error=StoreError, label="t")
    db.execute("INSERT INTO t VALUES (1)")
    keep = (sqlite3.IntegrityError,)
    with pytest.raises(sqlite3.IntegrityError), transaction(db, StoreError, "t", passing=keep):
        db.execute("INSERT INTO t VALUES (1)")
    with (
        pytest.raises(StoreError, match=r"^reading t: no such table"),
        failures_as(StoreError, "reading t", passing=keep),
    ):
        db.execute("SELECT * FROM missing")
    db.close()
