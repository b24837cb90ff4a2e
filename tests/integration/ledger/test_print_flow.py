"""The print flow against a printer's faults: its lot and health, refusals, aborts, lost links,
a restart while the printer keeps printing; a real ledger on anvil, a real order book."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from config import Settings
from ledger.designs import design_folder
from ledger.documents import iso
from maintenance.orders import SqliteOrderBook
from models import OrderState, PrintOrder, Verdict
from models.parts import RecordKind
from opcua_server.demo.actors import write_demo_design
from opcua_server.runtime.printflow import CONNECTION_LOST, SITE_AWAY, PrintFlow
from opcua_server.server import TrustfloorServer
from tests.fakes import FakePrinter
from tests.integration.ledger.ledger_chainkit import Ledger, Site, make_site

pytestmark = pytest.mark.asyncio(loop_scope="session")

PRINTER = "am-cell-1"
DESIGN = "bracket"
LAYERS = 6
"""Layers the design's recipe plans."""
LAYER_S = 40.0


@dataclass
class Floor:
    """A site's ledger, order book and print flow beside one printer, on one manual clock."""

    site: Site
    orders: SqliteOrderBook
    printer: FakePrinter
    flow: PrintFlow
    folder: Path

    async def order(self, material_lot: str = "") -> PrintOrder:
        return await self.orders.create_order(
            DESIGN, 1, "test", "mes", design_revision="A", material_lot=material_lot
        )

    async def step(self, seconds: float = LAYER_S / 2) -> None:
        """The printer's telemetry reaches the flow, the flow ticks, time goes on."""
        await self.flow.put(self.printer.readings())
        await self.flow.tick()
        self.site.clock.advance(seconds)

    async def run_until(self, done: Callable[[], Awaitable[bool]], steps: int = 60) -> None:
        for _ in range(steps):
            await self.step()
            if await done():
                return
        raise AssertionError("the flow did not get there")

    async def state_of(self, order: PrintOrder) -> OrderState:
        return (await self.orders.get_order(order.id)).state

    async def settled(self, order: PrintOrder) -> bool:
        return await self.state_of(order) in (OrderState.CERTIFIED, OrderState.REJECTED)

    def certificate(self, serial: str) -> dict[str, Any]:
        row = self.site.store.leaf(serial, RecordKind.CERTIFICATE)
        assert row is not None, f"no certificate for {serial}"
        document: dict[str, Any] = json.loads(row.body)
        return document

    def restarted_flow(self) -> PrintFlow:
        """The flow of a new process on the same ledger store, order book and printer."""
        clock = self.site.clock  # the printer's time goes on
        again = make_site(self.folder, self.site.service.chain)
        again.service.clock = clock
        self.site = Site(again.service, clock, again.designs)
        self.flow = flow_of(self.site, self.orders, self.printer, self.folder)
        return self.flow


def flow_of(site: Site, orders: SqliteOrderBook, printer: FakePrinter, folder: Path) -> PrintFlow:
    display = TrustfloorServer(Settings(data_dir=folder / "server"))  # not served
    return PrintFlow(orders, site.service, {PRINTER: printer}, display, clock=site.clock)


@pytest_asyncio.fixture(loop_scope="session")
async def floor(ledger: Ledger, tmp_path: Path) -> AsyncIterator[Floor]:
    await ledger.admin.add_oem(ledger.issuer.address)
    await ledger.admin.add_issuer(ledger.issuer.address)
    folder = tmp_path / "site"
    site = make_site(folder, ledger.issuer)
    design = design_folder(site.designs, DESIGN, "A")
    write_demo_design(design, DESIGN, "A", "Bracket")
    (design / "recipe.json").write_text(json.dumps({"material": "316L", "layers": LAYERS}))
    await site.service.register_design(design, quota=10)
    orders = SqliteOrderBook(tmp_path / "orders.sqlite", clock=site.clock)
    printer = FakePrinter(PRINTER, site.clock, layer_s=LAYER_S)
    yield Floor(site, orders, printer, flow_of(site, orders, printer, folder), folder)
    await orders.close()
    site.store.close()


async def test_a_part_carries_the_printers_lot_and_health_and_the_recipes_layers(
    floor: Floor,
) -> None:
    floor.printer.feedstock = "316L-B0042"
    floor.printer.hours_since_maintenance = 120.5
    order = await floor.order(material_lot="316L-ASKED")

    await floor.run_until(lambda: floor.settled(order))

    assert await floor.state_of(order) is OrderState.CERTIFIED
    document = floor.certificate(f"{order.id}-01")
    assert document["schema"] == "trustfloor.certificate/2"
    assert (document["material_lot"], document["material_lot_source"]) == ("316L-B0042", "printer")
    start, end = document["health_at_build"]["start"], document["health_at_build"]["end"]
    assert (start["state"], end["state"]) == ("Printing", "Completed")
    assert start["hours_since_maintenance"] == 120.5
    assert start["alarms"] == []
    assert document["evidence"]["layers"] == {"done": LAYERS, "planned": LAYERS}
    assert document["verdict"] == "pass"
    assert document["evidence_gaps"] == []
    assert "notes" not in document


async def test_the_orders_lot_stands_when_the_printer_names_none(floor: Floor) -> None:
    order = await floor.order(material_lot="316L-ORDER-7")

    await floor.run_until(lambda: floor.settled(order))

    document = floor.certificate(f"{order.id}-01")
    assert (document["material_lot"], document["material_lot_source"]) == ("316L-ORDER-7", "order")


async def test_a_lot_nobody_names_is_unknown_and_the_certificate_says_why(floor: Floor) -> None:
    order = await floor.order()

    await floor.run_until(lambda: floor.settled(order))

    document = floor.certificate(f"{order.id}-01")
    assert (document["material_lot"], document["material_lot_source"]) == ("unknown", "unknown")
    assert any(note.startswith("material lot unknown") for note in document["notes"])
    [part] = [p for p in await floor.site.service.parts() if p.job.serial == f"{order.id}-01"]
    assert part.job.material_lot == ""


async def test_a_printer_reporting_another_dossier_gets_the_part_no_certificate(
    floor: Floor,
) -> None:
    floor.printer.reports_dossier = "ab" * 32
    order = await floor.order()

    await floor.run_until(lambda: floor.settled(order))

    serial = f"{order.id}-01"
    assert floor.site.store.leaf(serial, RecordKind.CERTIFICATE) is None
    rejected = await floor.orders.get_order(order.id)
    assert rejected.state is OrderState.REJECTED
    assert f"part {serial}: printer {PRINTER} reports dossier {'ab' * 32}" in rejected.state_reason
    [part] = [p for p in await floor.site.service.parts() if p.job.serial == serial]
    assert "not the dossier" in part.refusal
    assert await floor.site.service.certified_verdicts([serial]) == [Verdict.FAIL]


async def test_a_printer_reporting_another_job_gets_the_part_no_certificate(floor: Floor) -> None:
    floor.printer.reports_job = "LOCAL-99"
    order = await floor.order()

    await floor.run_until(lambda: floor.settled(order))

    assert floor.site.store.leaf(f"{order.id}-01", RecordKind.CERTIFICATE) is None
    assert "reports job 'LOCAL-99'" in (await floor.orders.get_order(order.id)).state_reason


async def test_a_job_the_printer_aborts_is_scrap_with_the_printers_reason(floor: Floor) -> None:
    order = await floor.order()
    await floor.run_until(lambda: _printed_layers(floor, 2))

    floor.printer.fail("recoater collision at layer 2")
    await floor.run_until(lambda: _certified(floor, f"{order.id}-01"))

    document = floor.certificate(f"{order.id}-01")
    assert document["verdict"] == "fail"
    assert "stopped by the printer: recoater collision at layer 2" in document["reasons"]
    assert document["evidence"]["layers"] == {"done": 2, "planned": LAYERS}
    assert document["health_at_build"]["end"]["state"] == "Aborted"


async def test_a_lost_link_is_a_gap_with_its_interval_and_the_job_goes_on(floor: Floor) -> None:
    order = await floor.order()
    await floor.run_until(lambda: _printed_layers(floor, 1))

    floor.printer.online = False
    await floor.flow.tick()
    lost = floor.site.clock.now()
    floor.site.clock.advance(2 * LAYER_S)  # no telemetry and no status meanwhile
    await floor.flow.tick()
    floor.printer.online = True
    back = floor.site.clock.now()
    await floor.run_until(lambda: floor.settled(order))

    document = floor.certificate(f"{order.id}-01")
    [gap] = document["evidence_gaps"]
    assert (gap["start"], gap["end"], gap["cause"]) == (iso(lost), iso(back), CONNECTION_LOST)
    assert any(note.startswith("evidence gap from") for note in document["notes"])
    assert document["verdict"] == "pass", "a gap alone scraps nothing"
    assert await floor.state_of(order) is OrderState.CERTIFIED


async def test_a_restart_while_the_printer_prints_certifies_the_same_serial_with_the_gap(
    floor: Floor,
) -> None:
    order = await floor.order()
    await floor.run_until(lambda: _printed_layers(floor, 2))
    serial = f"{order.id}-01"
    last_sample = floor.site.store.last_sample_at(serial)
    floor.site.clock.advance(LAYER_S)  # the process is killed; the printer goes on

    floor.restarted_flow()
    back = floor.site.clock.now()
    await floor.run_until(lambda: floor.settled(order))

    assert await floor.state_of(order) is OrderState.CERTIFIED
    document = floor.certificate(serial)
    assert document["verdict"] == "pass"
    [gap] = document["evidence_gaps"]
    assert last_sample is not None
    assert (gap["start"], gap["end"], gap["cause"]) == (iso(last_sample), iso(back), SITE_AWAY)
    assert floor.site.store.leaf(f"{order.id}-02", RecordKind.CERTIFICATE) is None


async def test_a_restart_after_the_printer_lost_the_job_scraps_it(floor: Floor) -> None:
    order = await floor.order()
    await floor.run_until(lambda: _printed_layers(floor, 1))
    floor.printer.job = None  # the printer was power-cycled with the site

    floor.restarted_flow()
    await floor.step()

    assert floor.certificate(f"{order.id}-01")["verdict"] == "fail"


async def test_a_busy_printer_makes_the_order_wait(floor: Floor) -> None:
    floor.printer.busy_with = "LOCAL-7"
    order = await floor.order()

    await floor.step()
    await floor.step()

    assert await floor.state_of(order) is OrderState.CREATED
    assert [p for p in await floor.site.service.parts() if p.job.order_id == order.id] == []
    floor.printer.busy_with = ""
    await floor.run_until(lambda: floor.settled(order))
    assert await floor.state_of(order) is OrderState.CERTIFIED


async def test_a_printer_refusing_the_job_rejects_the_order_with_its_reason(floor: Floor) -> None:
    floor.printer.refusal = "no build plate loaded"
    order = await floor.order()

    await floor.step()

    rejected = await floor.orders.get_order(order.id)
    assert rejected.state is OrderState.REJECTED
    assert rejected.state_reason == f"printer {PRINTER} refused the job: no build plate loaded"
    assert [p for p in await floor.site.service.parts() if p.job.order_id == order.id] == []


async def _printed_layers(floor: Floor, layers: int) -> bool:
    return floor.printer.layer() >= layers


async def _certified(floor: Floor, serial: str) -> bool:
    return floor.site.store.leaf(serial, RecordKind.CERTIFICATE) is not None


async def test_a_held_order_is_not_printed_until_it_is_released(floor: Floor) -> None:
    order = await floor.order()
    await floor.orders.hold_order(order.id, "qe-anna", "recall RC-0001")

    await floor.step()
    await floor.step()

    assert await floor.state_of(order) is OrderState.HELD
    assert [p for p in await floor.site.service.parts() if p.job.order_id == order.id] == []
    await floor.orders.release_order(order.id, "qe-anna")
    await floor.run_until(lambda: floor.settled(order))
    assert await floor.state_of(order) is OrderState.CERTIFIED
