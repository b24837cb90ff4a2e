"""The print flow driving the simulated printer over OPC UA (Basic256Sha256, a user): a restart
while the printer prints takes the job up again by its id and certifies the same serial."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from connectors.simulated.printer_model import PrinterModel
from ledger.designs import design_folder
from ledger.documents import iso
from maintenance.orders import SqliteOrderBook
from models import OrderState, PrinterJobState, PrintOrder, Reading
from models.parts import RecordKind
from opcua_server.demo.actors import write_demo_design
from opcua_server.runtime.printflow import PRINTER_LOST_JOB, SITE_AWAY, PrintFlow
from opcua_server.server import TrustfloorServer
from tests.integration.ledger.ledger_chainkit import Ledger, Site, make_site
from tests.integration.printers.printer_link_kit import COMPRESSION, Link, simulated_link
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

LAYERS = 10


class Telemetry:
    """What the driver published since the last look, handed to a print flow as the bus would."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._seen = 0

    def new(self) -> list[Reading]:
        readings = self._link.sink.readings[self._seen :]
        self._seen += len(readings)
        return readings


def site_on(link: Link, folder: Path, ledger: Ledger) -> Site:
    """The site's ledger on ``folder`` (again, after a restart), on the printer's clock."""
    site = make_site(folder, ledger.issuer)
    site.service.clock = link.clock
    return Site(site.service, link.clock, site.designs)


def flow_of(site: Site, orders: SqliteOrderBook, link: Link, folder: Path) -> PrintFlow:
    display = TrustfloorServer(Settings(data_dir=folder / "server"))  # not served
    return PrintFlow(orders, site.service, {"am-1": link.control}, display, clock=link.clock)


async def licensed_site(link: Link, tmp_path: Path, ledger: Ledger) -> tuple[Site, SqliteOrderBook]:
    """The site's ledger with a design of LAYERS layers licensed, and its order book."""
    await ledger.admin.add_oem(ledger.issuer.address)
    await ledger.admin.add_issuer(ledger.issuer.address)
    site = site_on(link, tmp_path / "site", ledger)
    design = design_folder(site.designs, "bracket", "A")
    write_demo_design(design, "bracket", "A", "Bracket")
    (design / "recipe.json").write_text(json.dumps({"material": "316L", "layers": LAYERS}))
    await site.service.register_design(design, quota=5)
    return site, SqliteOrderBook(tmp_path / "orders.sqlite", clock=link.clock)


def certificate(site: Site, serial: str) -> dict[str, Any]:
    row = site.store.leaf(serial, RecordKind.CERTIFICATE)
    assert row is not None, f"no certificate for {serial}"
    document: dict[str, Any] = json.loads(row.body)
    return document


async def test_a_restart_mid_job_certifies_the_same_serial_with_the_gap_stated(
    ledger: Ledger, tmp_path: Path
) -> None:
    async with simulated_link(tmp_path / "printer") as link:
        site, orders = await licensed_site(link, tmp_path, ledger)
        telemetry = Telemetry(link)
        flow = flow_of(site, orders, link, tmp_path)
        order = await orders.create_order("bracket", 1, "test", "mes", design_revision="A")
        serial = f"{order.id}-01"

        await flow.tick()
        await link.status_where(lambda s: s.job_state is PrinterJobState.PRINTING)
        await link.advance_layers(3)
        await link.status_where(lambda s: s.current_layer >= 3)
        await link.sink.good("CurrentLayer", value=3)
        await flow.put(telemetry.new())
        last_sample = site.store.last_sample_at(serial)
        assert last_sample is not None

        link.clock.advance(5.0)  # trustfloor is killed; the printer prints on
        site = site_on(link, tmp_path / "site", ledger)
        flow = flow_of(site, orders, link, tmp_path)
        back = link.clock.now()
        await flow.tick()
        await link.advance_layers(LAYERS + 2)
        await link.status_where(lambda s: s.job_state is PrinterJobState.COMPLETED)
        await link.sink.good("State", value="Completed")
        await flow.put(telemetry.new())
        await flow.tick()

        assert (await orders.get_order(order.id)).state is OrderState.CERTIFIED
        document = certificate(site, serial)
        assert document["verdict"] == "pass", document.get("reasons")
        [gap] = document["evidence_gaps"]
        assert gap["cause"] == SITE_AWAY
        assert (gap["start"], gap["end"]) == (iso(last_sample), iso(back))
        assert document["material_lot_source"] == "printer"
        assert document["material_lot"] == "P316L-LPBF250-0007-A"
        assert document["evidence"]["layers"] == {"done": LAYERS, "planned": LAYERS}
        assert site.store.leaf(f"{order.id}-02", RecordKind.CERTIFICATE) is None
        await orders.close()
        await link.finish()


@dataclass
class Printing:
    """One order's first piece printing on the simulated printer, driven by a print flow."""

    link: Link
    site: Site
    orders: SqliteOrderBook
    telemetry: Telemetry
    flow: PrintFlow
    order: PrintOrder

    async def next_piece_prints(self) -> None:
        """After a scrapped piece, the order's next one is dispatched and prints."""
        await self.flow.tick()
        reprint = await self.link.status_where(lambda s: s.job_state is PrinterJobState.PRINTING)
        assert reprint.job_id == f"{self.order.id}-02"


@asynccontextmanager
async def printing(ledger: Ledger, tmp_path: Path) -> AsyncIterator[Printing]:
    """An order of one piece dispatched to a simulated printer that now prints it."""
    async with simulated_link(tmp_path / "printer") as link:
        site, orders = await licensed_site(link, tmp_path, ledger)
        flow = flow_of(site, orders, link, tmp_path)
        order = await orders.create_order("bracket", 1, "test", "mes", design_revision="A")
        await flow.tick()
        await link.status_where(lambda s: s.job_state is PrinterJobState.PRINTING)
        yield Printing(link, site, orders, Telemetry(link), flow, order)
        await orders.close()
        await link.finish()


async def test_a_printer_fault_mid_job_is_scrap_with_the_printers_reason(
    ledger: Ledger, tmp_path: Path
) -> None:
    async with printing(ledger, tmp_path) as run:
        await run.link.advance_layers(4.5)
        run.link.simulator.fault("recoater blade collision")
        await run.link.simulator.update()
        await run.link.status_where(lambda s: s.job_state is PrinterJobState.ABORTED)
        await run.link.sink.good("State", value="Aborted")
        await run.flow.put(run.telemetry.new())

        document = certificate(run.site, f"{run.order.id}-01")
        assert document["verdict"] == "fail"
        assert "stopped by the printer: recoater blade collision" in document["reasons"]
        end = document["health_at_build"]["end"]
        assert (end["state"], end["alarms"]) == ("Aborted", ["recoater blade collision"])
        await run.next_piece_prints()


async def test_a_printer_killed_mid_job_that_comes_back_blank_makes_the_piece_scrap(
    ledger: Ledger, tmp_path: Path
) -> None:
    async with printing(ledger, tmp_path) as run:
        link = run.link
        await link.advance_layers(3)
        await link.sink.good("State", value="Printing")
        await run.flow.put(run.telemetry.new())
        sessions = link.control.sessions
        await link.simulator.stop()  # the printer loses power, and its job with it
        link.simulator.model = PrinterModel("am-1", seed=3, time_compression=COMPRESSION)
        await link.simulator.start()
        await wait_until(lambda: link.control.connected and link.control.sessions > sessions)
        await link.status_where(lambda s: s.job_state is PrinterJobState.IDLE and not s.job_id)
        await run.flow.tick()

        document = certificate(run.site, f"{run.order.id}-01")
        assert document["verdict"] == "fail"
        assert f"stopped by the printer: {PRINTER_LOST_JOB}" in document["reasons"]
        await run.next_piece_prints()
