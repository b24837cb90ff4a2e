"""``trustfloor printers`` (the site's snapshot, stale when old) and ``printers probe URL``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from config import NodeRef, companion_mapping
from connectors import probe_printer
from models import ExitCode, PrinterJobState
from opcua_server.cli.main import main
from opcua_server.runtime.printer_snapshot import PrinterSnapshots
from tests.integration.printers.printer_link_kit import (
    ENVIRON,
    PASSWORD_ENV,
    Link,
    job,
    simulated_link,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def link(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Link]:
    async with simulated_link(tmp_path_factory.mktemp("printers-cli")) as served:
        yield served


async def test_the_snapshot_lists_each_printer_and_is_marked_stale_when_old(
    link: Link, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await link.control.submit(job("PO-000007-01", layers=40))
    await link.control.start("PO-000007-01")
    try:
        await link.advance_layers(3.5)
        await link.status_where(lambda s: s.current_layer == 3)
        await PrinterSnapshots({"am-1": link.control}, tmp_path, link.clock).tick()
        assert (tmp_path / "printers.json").stat().st_mode & 0o777 == 0o600

        assert main(["printers", "--json", "--data-dir", str(tmp_path)]) == ExitCode.OK
        shown = json.loads(capsys.readouterr().out)
        assert shown["stale"], "written at the test clock's time, long ago: no site is running"
        [printer] = shown["printers"]
        assert printer == {
            "id": "am-1",
            "endpoint": link.simulator.url,
            "security_mode": "SignAndEncrypt",
            "state": PrinterJobState.PRINTING.value,
            "job": "PO-000007-01",
            "layer": 3,
            "layers_planned": 40,
            "material_lot": "P316L-LPBF250-0007-A",
            "health": {"state": "Printing", "alarms": [], "reason": ""},
        }
        assert main(["printers", "--data-dir", str(tmp_path)]) == ExitCode.OK
        table = capsys.readouterr().out
        assert "STALE" in table
        assert "PO-000007-01" in table
    finally:
        await link.finish()


async def test_no_snapshot_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["printers", "--data-dir", str(tmp_path)]) == ExitCode.FAILURE
    assert "no printer snapshot" in capsys.readouterr().err


async def test_probe_checks_the_companion_profile_on_the_simulated_printer(
    link: Link, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, ENVIRON[PASSWORD_ENV])
    argv = ["printers", "probe", link.simulator.url, "--user", "trustfloor"]
    argv += ["--password-env", PASSWORD_ENV, "--printer-id", "am-1", "--data-dir", str(tmp_path)]
    assert await asyncio.to_thread(main, argv) == ExitCode.OK
    assert "every mapped node and method was found" in capsys.readouterr().out


async def test_probe_says_which_mapped_node_is_missing_and_suggests_one(
    link: Link, tmp_path: Path
) -> None:
    mapping = companion_mapping().model_copy(
        update={"state": NodeRef(path="am:RunInfo/am:BuildStatus")}
    )
    report = await probe_printer(
        link.control.printer.opcua,
        mapping,
        password=ENVIRON[PASSWORD_ENV],
        pki_dir=tmp_path,
        printer_id="am-1",
    )
    assert report.missing == {"state": "no 'RunInfo/BuildStatus' under the printer"}
    suggested = report.suggested["state"]
    assert suggested.endswith(":RunInfo/" + suggested.rpartition("/")[2])
    assert suggested.rpartition(":")[2] == "JobState"
