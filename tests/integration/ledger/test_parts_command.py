"""``trustfloor parts``: every part of the site with its lot and its source, its verdict and where
its certificate stands (none, issued, anchored, revoked, refused)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from config import Settings
from ledger.commands import open_ledger
from models import MaterialLotSource, PrinterHealth
from models.timebase import ManualClock
from opcua_server.cli.main import main
from tests.integration.ledger.ledger_chainkit import NO_ENV, licensed_site
from tests.unit.ledger.ledgerkit import T0, good_samples

pytestmark = pytest.mark.asyncio(loop_scope="session")

KEYS = [
    "certificate_status",
    "design",
    "material_lot",
    "material_lot_source",
    "order",
    "printer",
    "serial",
    "verdict",
]


async def print_parts(settings: Settings) -> None:
    """P-1 anchored (the printer's lot), P-2 revoked, P-3 refused, P-4 issued, P-5 printing."""
    clock = ManualClock(T0)
    async with open_ledger(settings, NO_ENV, clock) as ledger:
        for serial, lot in [
            ("P-1", "Ti64-ORDER"),
            ("P-2", ""),
            ("P-3", ""),
            ("P-4", ""),
            ("P-5", ""),
        ]:
            job = await ledger.start_job(
                serial=serial,
                design_id="pump-impeller",
                revision="C",
                printer="am-1",
                order_id="PO-000001",
                material_lot=lot,
                layers_planned=412,
            )
            health = PrinterHealth(at=clock.now(), state="Printing")
            await ledger.job_started(job.job_id, health, "Ti64-L2291" if serial == "P-1" else "")
            if serial == "P-5":
                continue
            await ledger.record_samples(job.job_id, good_samples(clock.now(), 10))
            clock.advance(10)
            if serial == "P-3":
                await ledger.refuse_job(job.job_id, "printer am-1 reports job 'X'", 412)
                continue
            await ledger.finish_job(job.job_id, 412)
            await ledger.issue_certificate(serial)
            if serial == "P-2":
                clock.advance(61)
                assert (await ledger.tick()).failures == []
                await ledger.revoke(serial, "cracked", "qe")


@pytest_asyncio.fixture(loop_scope="session")
async def site(tmp_path: Path) -> Settings:
    settings = await licensed_site(tmp_path, quota=10)
    await print_parts(settings)
    return settings


def parts(settings: Settings, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    assert main(["parts", *flags, "--data-dir", str(settings.data_dir)]) == 0
    return capsys.readouterr().out


async def test_parts_json_lists_every_part_by_serial(
    site: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    listed: dict[str, Any] = json.loads(parts(site, capsys, "--json"))

    by_serial = {p["serial"]: p for p in listed["parts"]}
    assert list(by_serial) == ["P-1", "P-2", "P-3", "P-4", "P-5"]
    assert all(sorted(set(p) - {"reason"}) == KEYS for p in listed["parts"])
    assert {s: p["certificate_status"] for s, p in by_serial.items()} == {
        "P-1": "anchored",
        "P-2": "revoked",
        "P-3": "refused",
        "P-4": "issued",
        "P-5": "none",
    }
    assert by_serial["P-1"] | {"certificate_status": "-"} == {
        "serial": "P-1",
        "order": "PO-000001",
        "design": "pump-impeller/C",
        "printer": "am-1",
        "material_lot": "Ti64-L2291",
        "material_lot_source": MaterialLotSource.PRINTER.value,
        "verdict": "pass",
        "certificate_status": "-",
    }
    assert (by_serial["P-4"]["material_lot"], by_serial["P-4"]["material_lot_source"]) == (
        "unknown",
        "unknown",
    )
    assert by_serial["P-3"]["reason"] == "printer am-1 reports job 'X'"
    assert by_serial["P-3"]["verdict"] == "fail"
    assert by_serial["P-5"]["verdict"] is None


async def test_parts_without_json_is_a_table(
    site: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = parts(site, capsys).splitlines()

    assert lines[0].split() == [
        "serial",
        "order",
        "printer",
        "material_lot",
        "source",
        "verdict",
        "certificate",
    ]
    assert lines[1].split() == [
        "P-1",
        "PO-000001",
        "am-1",
        "Ti64-L2291",
        "printer",
        "pass",
        "anchored",
    ]
    assert "    refused: printer am-1 reports job 'X'" in lines
