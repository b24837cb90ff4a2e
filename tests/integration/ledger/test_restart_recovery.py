"""After a crash: interrupted jobs are certified once and every open order is picked up again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from config import Settings
from connectors.simulated import SimulatedPrinter, SimulatedPrinterControl
from ledger.anvil import LocalAnvil
from ledger.canonical import design_key
from ledger.contract import LicenceState
from ledger.documents import iso
from ledger.errors import UnknownRecordError
from ledger.service import INTERRUPTED
from ledger.tables import JobState
from maintenance.orders import SqliteOrderBook
from models import OrderState, PrintOrder
from models.machines import OpcUaEndpoint, Printer
from models.parts import RecordKind
from opcua_server.runtime.printflow import PrintFlow
from opcua_server.server import TrustfloorServer
from tests.integration.ledger.ledger_chainkit import Ledger, Site, make_site, raw_rpc
from tests.unit.ledger.ledgerkit import good_samples, write_design

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The ledger service and the printing flow (opcua_server.runtime's PrintFlow) restarted on what
# a killed process left in the ledger store and the order book, against a real anvil. The printer
# is the site's simulated printer model behind its control (not served: driven in process).

PRINTER = "am-cell-2"
"""The printer ``Site.print_part`` and ``start`` use."""


@pytest_asyncio.fixture(loop_scope="session")
async def site(ledger: Ledger, tmp_path: Path) -> AsyncIterator[Site]:
    """A site that is its own OEM, as on the local chain: the design registered, 5 pieces."""
    await ledger.admin.add_oem(ledger.issuer.address)
    await ledger.admin.add_issuer(ledger.issuer.address)
    printing = make_site(tmp_path / "site", ledger.issuer)
    folder = printing.install(write_design(tmp_path / "released", layers=412))
    await printing.service.register_design(folder, quota=5)
    yield printing
    printing.store.close()


async def start(site: Site, serial: str) -> None:
    """Start a job and record its first 20 s of samples, as the printing flow does."""
    await site.service.start_job(
        serial=serial,
        design_id="pump-impeller",
        revision="C",
        printer=PRINTER,
        order_id=serial.rsplit("-", 1)[0],
        material_lot="Ti64-L2291",
        layers_planned=412,
    )
    await site.service.record_samples(serial, good_samples(site.clock.now(), 20))


def restarted(site: Site, ledger: Ledger, folder: Path) -> Site:
    """The same store opened by a new process (the old one was killed without closing it)."""
    return make_site(folder, ledger.issuer)


def certificate_of(site: Site, serial: str) -> dict[str, Any]:
    """The signed certificate document of part ``serial``."""
    row = site.store.leaf(serial, RecordKind.CERTIFICATE)
    assert row is not None, f"no certificate for {serial}"
    document: dict[str, Any] = json.loads(row.body)
    return document


async def test_a_job_left_printing_is_certified_once_as_interrupted_scrap(
    site: Site, ledger: Ledger, tmp_path: Path
) -> None:
    await start(site, "PO-000007-01")
    last_sample = max(s.ts for s in site.store.samples("PO-000007-01"))
    site.clock.advance(300)  # the process dies; the site restarts later
    again = restarted(site, ledger, tmp_path / "site")

    [issued] = await again.service.close_interrupted_jobs({PRINTER})

    assert issued.serial == "PO-000007-01"
    assert again.store.job_by_serial("PO-000007-01").state is JobState.CERTIFIED
    document = certificate_of(again, "PO-000007-01")
    evidence = document["evidence"]
    assert document["verdict"] == "fail"
    assert INTERRUPTED in document["reasons"]
    assert evidence["samples"] == len(good_samples(site.clock.now(), 20))
    assert evidence["layers"] == {"done": 0, "planned": 412}
    assert evidence["ended_at"] == iso(last_sample), "the job ended with its last sample"
    assert await again.service.close_interrupted_jobs({PRINTER}) == []  # nothing twice
    await again.anchor_now()
    used = await ledger.outsider.licence(design_key("pump-impeller", "C"), ledger.issuer.address)
    assert used == LicenceState(5, 1), "the scrapped piece counts against the licence once"
    again.store.close()


async def test_a_finished_job_gets_the_certificate_the_crash_kept_it_from(
    site: Site, ledger: Ledger, tmp_path: Path
) -> None:
    await start(site, "PO-000007-02")
    site.clock.advance(30)
    evidence = await site.service.finish_job("PO-000007-02", 412)
    again = restarted(site, ledger, tmp_path / "site")  # killed before issuing the certificate

    [issued] = await again.service.close_interrupted_jobs({PRINTER})

    assert issued.serial == "PO-000007-02"
    document = certificate_of(again, "PO-000007-02")
    assert document["verdict"] == evidence.verdict.value == "pass"
    assert INTERRUPTED not in document.get("reasons", [])
    again.store.close()


async def test_jobs_of_printers_another_process_drives_are_left_alone(
    site: Site, ledger: Ledger, tmp_path: Path
) -> None:
    await start(site, "PO-000007-03")
    again = restarted(site, ledger, tmp_path / "site")

    assert await again.service.close_interrupted_jobs({"am-cell-9"}) == []
    assert again.store.job_by_serial("PO-000007-03").state is JobState.PRINTING
    again.store.close()


# --- the printing flow picks every open order up again ---


@pytest_asyncio.fixture(loop_scope="session")
async def orders(site: Site, tmp_path: Path) -> AsyncIterator[SqliteOrderBook]:
    book = SqliteOrderBook(tmp_path / "orders.sqlite", clock=site.clock)
    yield book
    await book.close()


def restarted_flow(
    site: Site, orders: SqliteOrderBook, tmp_path: Path
) -> tuple[PrintFlow, SimulatedPrinter]:
    """The printing flow of a freshly started process, and its (idle) simulated printer."""
    endpoint = OpcUaEndpoint(
        url="opc.tcp://127.0.0.1:0/printer", security_policy="None", security_mode="None"
    )
    printer = SimulatedPrinter(Printer(id=PRINTER, opcua=endpoint, simulated=True), site.clock)
    server = TrustfloorServer(Settings(data_dir=tmp_path / "server"))
    control = SimulatedPrinterControl(printer)
    return PrintFlow(orders, site.service, {PRINTER: control}, server), printer


async def new_order(orders: SqliteOrderBook, quantity: int = 1) -> PrintOrder:
    return await orders.create_order(
        "pump-impeller", quantity, "crash test", "mes", design_revision="C"
    )


async def move(orders: SqliteOrderBook, order: PrintOrder, *states: OrderState) -> PrintOrder:
    for state in states:
        order = await orders.update_state(order.id, state, actor="printflow", printer=PRINTER)
    return order


async def test_an_order_left_dispatched_is_printed_after_a_restart(
    site: Site, orders: SqliteOrderBook, tmp_path: Path
) -> None:
    order = await new_order(orders)
    await start(site, f"{order.id}-01")
    await move(orders, order, OrderState.DISPATCHED)  # killed before it became printing

    flow, printer = restarted_flow(site, orders, tmp_path)
    await flow.tick()

    assert certificate_of(site, f"{order.id}-01")["verdict"] == "fail"  # the interrupted piece
    assert (await orders.get_order(order.id)).state is OrderState.PRINTING
    assert site.store.job_by_serial(f"{order.id}-02").state is JobState.PRINTING
    assert printer.model.snapshot(site.clock.now()).job_id == f"{order.id}-02"


@pytest.mark.parametrize("left_in", [OrderState.PRINTING, OrderState.PRINTED])
async def test_an_order_whose_pieces_were_all_certified_is_closed_not_printed_again(
    site: Site, orders: SqliteOrderBook, tmp_path: Path, left_in: OrderState
) -> None:
    order = await new_order(orders)
    order = await move(orders, order, OrderState.DISPATCHED, OrderState.PRINTING)
    await start(site, f"{order.id}-01")
    site.clock.advance(30)
    await site.service.finish_job(f"{order.id}-01", 412)
    await site.service.issue_certificate(f"{order.id}-01")
    if left_in is OrderState.PRINTED:
        await move(orders, order, OrderState.PRINTED)  # killed before certified

    flow, _ = restarted_flow(site, orders, tmp_path)
    await flow.tick()

    assert (await orders.get_order(order.id)).state is OrderState.CERTIFIED
    with pytest.raises(UnknownRecordError):
        site.store.job_by_serial(f"{order.id}-02")


# --- the local chain's state file, cut short by a kill while anvil saved it ---


async def mined_blocks(state: Path, mine: int = 0) -> int:
    """Start anvil on ``state``, mine ``mine`` blocks, stop it (it saves); the head's number."""
    async with LocalAnvil(chain_id=781, state=state) as node:
        for _ in range(mine):
            await raw_rpc(node.url, "evm_mine")
        return int(await raw_rpc(node.url, "eth_blockNumber"), 16)


async def test_a_state_file_cut_short_is_replaced_by_its_last_good_copy(tmp_path: Path) -> None:
    state = tmp_path / "anvil-state.json"
    assert await mined_blocks(state, mine=3) == 3
    assert await mined_blocks(state, mine=1) == 4  # its start kept a copy of the 3-block state
    state.write_bytes(state.read_bytes()[:100])  # killed while rewriting the file in place

    assert await mined_blocks(state) == 3


async def test_a_state_file_cut_short_without_a_good_copy_starts_a_new_chain(
    tmp_path: Path,
) -> None:
    state = tmp_path / "anvil-state.json"
    state.write_bytes(b"")  # killed right after anvil truncated it, before its first good copy

    assert await mined_blocks(state) == 0
    assert (tmp_path / "anvil-state.json.broken").exists()
