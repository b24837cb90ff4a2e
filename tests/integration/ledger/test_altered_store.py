"""An altered ledger store is refused by every reader: show, export, report, the OPC UA desk."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from config.settings import Settings
from ledger.canonical import canonical_json
from ledger.commands import (
    CommandResult,
    certificate_export,
    certificate_show,
    ledger_store,
    open_ledger,
)
from ledger.desk import LedgerDesk
from ledger.errors import StoredRecordAlteredError
from ledger.report import certificate_report
from models.errors import InvalidStateError
from models.parts import RecordKind
from tests.integration.ledger.ledger_chainkit import NO_ENV, licensed_site, print_part

pytestmark = pytest.mark.asyncio(loop_scope="session")

ALTERED = "the ledger store was altered"
PASSED, SCRAPPED = "PO-000003-02", "PO-000003-01"


async def two_parts(folder: Path) -> Settings:
    """A site with an anchored passing part and an anchored failed (scrapped) one."""
    settings = await licensed_site(folder)
    await print_part(settings, SCRAPPED, layers_done=100)
    await print_part(settings, PASSED)
    assert certificate_show(settings, SCRAPPED).output.startswith(f"part {SCRAPPED}: verdict FAIL")
    return settings


def tamper(settings: Settings, sql: str, *args: object) -> None:
    """Change the ledger's SQLite file with sqlite3, as anyone with write access could."""
    with sqlite3.connect(settings.data_dir / settings.ledger.sqlite_file) as db:
        db.execute(sql, args)


def swap_serials(settings: Settings, first: str, second: str) -> None:
    swap = "UPDATE leaves SET serial = ? WHERE serial = ? AND kind = 'certificate'"
    tamper(settings, swap, "-", first)
    tamper(settings, swap, first, second)
    tamper(settings, swap, second, "-")


def edit_body(settings: Settings, serial: str, **changes: object) -> None:
    store = ledger_store(settings)
    row = store.leaf(serial, RecordKind.CERTIFICATE)
    store.close()
    assert row is not None
    body = canonical_json(json.loads(row.body) | changes)
    tamper(settings, "UPDATE leaves SET body = ? WHERE seq = ?", body, row.seq)


def refused_everywhere(settings: Settings, serial: str, out: Path) -> list[str]:
    """The message of each synchronous reader's refusal; none may print or write anything."""
    readers: list[Callable[[], CommandResult]] = [
        partial(certificate_show, settings, serial),
        partial(certificate_export, settings, serial),
        partial(certificate_report, settings, serial, out),
    ]
    messages = []
    for read in readers:
        with pytest.raises(StoredRecordAlteredError) as raised:
            read()
        messages.append(str(raised.value))
    assert not out.exists()
    return messages


async def test_swapped_serials_never_show_a_scrapped_part_as_passed(tmp_path: Path) -> None:
    settings = await two_parts(tmp_path)
    swap_serials(settings, SCRAPPED, PASSED)
    expected = f"stored certificate for {SCRAPPED} holds serial {PASSED}: {ALTERED}"
    assert refused_everywhere(settings, SCRAPPED, tmp_path / "part.html") == [expected] * 3
    async with open_ledger(settings, NO_ENV) as ledger:
        desk = LedgerDesk(ledger)
        for read in (desk.certificate_json, desk.proof_bundle_json):
            with pytest.raises(InvalidStateError, match=expected) as raised:  # BadInvalidState
                await read(SCRAPPED)
            assert isinstance(raised.value, StoredRecordAlteredError)


async def test_an_edited_lot_or_verdict_is_refused_not_shown_anchored(tmp_path: Path) -> None:
    settings = await two_parts(tmp_path)
    edit_body(settings, PASSED, material_lot="Ti64-L0000")
    edit_body(settings, SCRAPPED, verdict="pass", reasons=[])
    for serial in (PASSED, SCRAPPED):
        messages = refused_everywhere(settings, serial, tmp_path / "part.html")
        for message in messages:
            assert message.startswith(f"stored certificate for {serial}: its body hashes to leaf")
            assert "not to its stored leaf hash" in message
            assert message.endswith(ALTERED)
    async with open_ledger(settings, NO_ENV) as ledger:
        with pytest.raises(StoredRecordAlteredError, match=ALTERED):
            await LedgerDesk(ledger).certificate_json(SCRAPPED)
