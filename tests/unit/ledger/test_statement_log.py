"""A statement's anchors carry site-log checkpoints that prove one append-only history."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from ledger.billing.sitelog import add_checkpoints, check_log, last_checkpoint_size
from ledger.canonical import JsonObject
from ledger.errors import LedgerError
from ledger.store import LedgerStore
from ledger.tables import BatchRow
from tests.unit.ledger.test_site_log import LOG, seal


def statement(anchors: list[JsonObject]) -> JsonObject:
    return {"proof": {"anchors": list(anchors)}}


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[LedgerStore, list[BatchRow]]:
    """A store whose log grew in three seals (sizes 2, 3, 5)."""
    store = LedgerStore(tmp_path / "ledger.sqlite")
    store.log_signer = LOG
    for serials in (["P-1", "P-2"], ["P-3"], ["P-4", "P-5"]):
        seal(store, tmp_path, serials)
    return store, store.batches()


def anchors_of(batches: list[BatchRow]) -> list[JsonObject]:
    return [{"root": b.root.hex(), "block": n} for n, b in enumerate(batches)]


def test_a_month_of_anchors_is_one_append_only_log(
    sealed: tuple[LedgerStore, list[BatchRow]],
) -> None:
    store, batches = sealed
    anchors = anchors_of(batches)
    add_checkpoints(store, anchors, {b.root.hex(): b for b in batches}, None)
    assert [a["consistency_from"] for a in anchors] == [0, 2, 3]
    assert (
        check_log(statement(anchors)) == "3 checkpoint(s) of one append-only log (RFC 6962 proofs)"
    )
    forged = copy.deepcopy(anchors)
    forged[2]["consistency"] = ["00" * 32]
    with pytest.raises(LedgerError, match="consistency proof 3->5"):
        check_log(statement(forged))


def test_the_next_month_starts_from_the_last_checkpoint_of_the_previous(
    sealed: tuple[LedgerStore, list[BatchRow]],
) -> None:
    store, batches = sealed
    by_root = {b.root.hex(): b for b in batches}
    november = anchors_of(batches[:2])
    add_checkpoints(store, november, by_root, None)
    december = anchors_of(batches[2:])
    add_checkpoints(store, december, by_root, statement(november))
    assert last_checkpoint_size(statement(november)) == 3
    assert december[0]["consistency_from"] == 3
    alone = check_log(statement(december))
    assert alone.endswith("the first, from size 3, needs the previous statement")
    chained = check_log(statement(december), statement(november))
    assert chained == "1 checkpoint(s) of one append-only log (RFC 6962 proofs)"
