"""A vendor-layout node-opcua printer prints passing and failing parts, by its mapping only."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from config import Settings
from connectors import probe_printer
from ledger import certificate_export, design_register, list_parts
from ledger.signing import SiteKey
from models import OrderState, Verdict
from opcua_server.demo.actors import write_demo_design
from opcua_server.runtime.printflow import SITE_AWAY
from opcua_server.runtime.site import Site
from tests.integration.opcua_client.opcua_client_kit import NodeOpcUaServer
from tests.support import REPO, free_port, wait_for, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXAMPLE = REPO / "config" / "examples" / "printer-vendor.toml"
PASSWORD_ENV = "ACME_PRINTER_PASSWORD"
PASSWORD = "acme-op-pass"
KEY_ENV = "TRUSTFLOOR_CHAIN_KEY"
DESIGN, REVISION = "spindle-bearing-housing", "A"
PRINT_WAIT_S = 180.0
"""Deadline for three parts of 200 layers at 10 ms a layer on a loaded machine (never a measure)."""


class VendorPrinter(NodeOpcUaServer):
    """The vendor-layout printer peer (tests/peers/vendor_printer.mjs) as a child process."""

    SCRIPT = REPO / "tests" / "peers" / "vendor_printer.mjs"
    PATH = "acme"


def vendor_settings(folder: Path, url: str) -> Settings:
    """A site with only the vendor printer, its profile read from the example file."""
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    [printer] = example["site"]["printers"]
    printer["opcua"]["url"] = url
    raw: dict[str, Any] = {
        "data_dir": str(folder / "var"),
        "server": {"port": 0, "hostnames": ["127.0.0.1"], "trust_unknown_clients": True},
        "site": {"name": "vendor-site", "printers": [printer]},
        "printer_links": example["printer_links"],
        "ledger": {"batch_max_age_s": 1},
    }
    return Settings.model_validate(raw)


async def registered_site(folder: Path, url: str) -> tuple[Settings, dict[str, str]]:
    """The vendor site's settings and environment, its design registered with a licence (what
    the OEM does), which deploys the ledger on the site's local chain."""
    settings = vendor_settings(folder, url)
    key = SiteKey.generate()
    environ = {PASSWORD_ENV: PASSWORD, KEY_ENV: key.secret_hex()}
    design = Path(settings.data_dir) / "designs" / DESIGN / REVISION
    write_demo_design(design, DESIGN, REVISION, "Spindle bearing housing")
    registered = await design_register(
        settings, design, licensee=key.address, quota=10, environ=environ
    )
    assert registered.exit_code == 0, registered.output
    return settings, environ


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def vendor(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VendorPrinter]:
    folder = tmp_path_factory.mktemp("vendor-peer")
    options = {"user": "operator", "password": PASSWORD, "layerMs": 10, "excursionEvery": 2}
    peer = VendorPrinter(free_port(), folder, **options)
    await peer.start()
    try:
        yield peer
    finally:
        await peer.kill()


async def test_probe_finds_every_node_of_the_example_mapping(
    vendor: VendorPrinter, tmp_path: Path
) -> None:
    settings = vendor_settings(tmp_path, vendor.url)
    [printer] = settings.site.printers
    report = await probe_printer(
        printer.opcua,
        settings.printer_links.mapping_of(printer.id),
        password=PASSWORD,
        pki_dir=tmp_path / "pki",
    )
    assert report.complete, report.missing


async def test_the_vendor_printer_prints_a_passing_and_a_failing_part_by_mapping_only(
    vendor: VendorPrinter, tmp_path: Path
) -> None:
    settings, environ = await registered_site(tmp_path, vendor.url)
    site = Site(settings, environ=environ)
    await site.start()
    try:
        await wait_until(lambda: all(c.connected for c in site.connectors))
        assert site.order_book is not None
        order = await site.order_book.create_order(
            DESIGN, 2, "vendor printer test", "mes", design_revision=REVISION
        )

        async def settled() -> OrderState:
            assert site.order_book is not None
            return (await site.order_book.get_order(order.id)).state

        final = await wait_for(
            settled,
            lambda s: s in (OrderState.CERTIFIED, OrderState.REJECTED),
            timeout_s=PRINT_WAIT_S,
        )
    finally:
        await site.stop()
    assert final is OrderState.CERTIFIED
    parts = {p.serial: p for p in list_parts(settings)}
    verdicts = [parts[f"{order.id}-{n:02d}"].verdict for n in (1, 2, 3)]
    assert verdicts == [Verdict.PASS, Verdict.FAIL, Verdict.PASS], "every 2nd run is faulty"
    lots = {(p.material_lot, p.material_lot_source.value) for p in parts.values()}
    assert lots == {("ACME-PWD-7731", "printer")}, "the lot comes from the printer's Batch node"


async def test_a_restart_while_the_printer_keeps_printing_takes_the_job_up_again(
    tmp_path: Path,
) -> None:
    options = {"user": "operator", "password": PASSWORD, "layerMs": 60}
    peer = VendorPrinter(free_port(), tmp_path / "peer", **options)
    await peer.start()
    try:
        settings, environ = await registered_site(tmp_path, peer.url)
        first = Site(settings, environ=environ)
        await first.start()
        try:
            assert first.order_book is not None
            order = await first.order_book.create_order(
                DESIGN, 1, "restart test", "mes", design_revision=REVISION
            )
            book = first.order_book

            async def state() -> OrderState:
                return (await book.get_order(order.id)).state

            await wait_for(state, lambda s: s is OrderState.PRINTING, timeout_s=60)
        finally:
            await first.stop()  # the printer builds on
        second = Site(settings, environ=environ)
        await second.start()
        try:
            assert second.order_book is not None
            book = second.order_book
            final = await wait_for(
                state,
                lambda s: s in (OrderState.CERTIFIED, OrderState.REJECTED),
                timeout_s=PRINT_WAIT_S,
            )
        finally:
            await second.stop()
    finally:
        await peer.kill()
    assert final is OrderState.CERTIFIED
    serial = f"{order.id}-01"
    exported = certificate_export(settings, serial)
    assert SITE_AWAY in exported.output, "the certificate states the gap"
