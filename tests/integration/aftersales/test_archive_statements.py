"""A site's monthly statements in its archive: they verify offline there, and an altered one is
named with what no longer adds up."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger import LedgerStore, archive, recall
from ledger.billing import issue_statements
from models.timebase import ManualClock
from opcua_server.runtime.archives import verify_archive
from tests.e2e.test_three_parties import NOV_20, Parties, parties, print_part

pytestmark = pytest.mark.asyncio(loop_scope="module")

__all__ = ["parties"]  # the three parties' chain and settings, shared as a fixture

STATEMENT = "statements/pump-impeller@C/2026-11.json"


async def test_statements_are_archived_and_verify_offline(parties: Parties, tmp_path: Path) -> None:
    await parties.advance_chain_to(NOV_20)
    await print_part(parties.site_a, "SN-A-1", NOV_20)
    await parties.advance_chain_to(datetime(2026, 12, 2, tzinfo=UTC))
    settings, environ = parties.site_a
    clock = ManualClock(datetime(2026, 12, 2, tzinfo=UTC))
    await issue_statements(settings, "2026-11", environ=environ, clock=clock)

    data_dir = Path(settings.data_dir)
    store = LedgerStore(data_dir / settings.ledger.sqlite_file)
    campaigns = recall.CampaignStore(data_dir / recall.RECALLS_FILE)
    folder = tmp_path / "archive"
    try:
        archive.export_archive(
            store,
            campaigns,
            folder,
            now=clock.now(),
            statements=archive.site_statements(data_dir),
        )
    finally:
        campaigns.close()
        store.close()
    assert STATEMENT in json.loads((folder / "manifest.json").read_text())["files"]
    verdict = await verify_archive(folder)
    assert verdict.valid, verdict.render()
    assert verdict.documents == 3  # the certificate, its evidence, the statement

    altered = tmp_path / "altered"
    shutil.copytree(folder, altered)
    text = (altered / STATEMENT).read_text()
    (altered / STATEMENT).write_text(text.replace("12500000", "13500000", 1))
    verdict = await verify_archive(altered)
    assert not verdict.valid
    assert f"{STATEMENT}: altered" in verdict.render()
    assert any(p.startswith(f"{STATEMENT}: site signature") for p in verdict.problems), (
        verdict.render()
    )
