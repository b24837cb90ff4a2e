"""The simulated printer as a secured OPC UA printer, driven by the mapping-based driver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest
import pytest_asyncio

from config import ArgumentType, NodeRef, companion_mapping
from connectors.opcua_client.printer import (
    OpcUaPrinterControl,
    PrinterRefusedError,
    PrinterUnreachableError,
)
from connectors.opcua_client.printer.driver import NOT_CONNECTED_YET
from connectors.simulated import ManualClock, SimulatedPrinter
from models import PrinterJobState, ProcessParameter, Quality
from models.machines import Printer
from tests.integration.printers.printer_link_kit import (
    DOSSIER,
    T0,
    Link,
    driving,
    job,
    secured_printer,
    simulated_link,
)
from tests.support import make_client_certificate, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def link(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Link]:
    async with simulated_link(tmp_path_factory.mktemp("printer-link")) as served:
        yield served


async def test_a_job_order_is_stored_started_and_followed_to_completion(link: Link) -> None:
    control = link.control
    await control.submit(job("PO-000001-01", layers=20))
    stored = await control.status()
    assert (stored.job_state, stored.job_id) == (PrinterJobState.IDLE, "")
    await control.start("PO-000001-01")

    status = await control.status()
    assert (status.job_state, status.job_id, status.order_id) == (
        PrinterJobState.PRINTING,
        "PO-000001-01",
        "PO-000001",
    )
    assert (status.layers_planned, status.dossier_sha256) == (20, DOSSIER)
    assert status.material_lot == "P316L-LPBF250-0007-A", "the lot comes from the feedstock"
    await link.sink.good("State", value="Printing")
    await link.advance_layers(25)
    done = await link.status_where(lambda s: s.job_state is PrinterJobState.COMPLETED)
    assert done.current_layer == 20
    await link.sink.good("State", value="Completed")
    await link.finish()


async def test_a_busy_printer_refuses_with_its_reason(link: Link) -> None:
    await link.control.submit(job("PO-000002-01"))
    await link.control.start("PO-000002-01")
    try:
        await link.control.submit(job("PO-000002-02"))
        with pytest.raises(PrinterRefusedError, match="printing job PO-000002-01"):
            await link.control.start("PO-000002-02")
        link.simulator.refusing = "powder hopper empty"
        with pytest.raises(PrinterRefusedError, match="powder hopper empty"):
            await link.control.submit(job("PO-000002-03"))
    finally:
        link.simulator.refusing = ""
        await link.finish()


async def test_a_printer_that_aborts_reports_aborted_with_its_reason(link: Link) -> None:
    await link.control.submit(job("PO-000003-01"))
    await link.control.start("PO-000003-01")
    await link.advance_layers(5.5)
    link.simulator.fault("recoater blade collision")
    await link.simulator.update()
    status = await link.status_where(lambda s: s.job_state is PrinterJobState.ABORTED)
    assert status.reason == "recoater blade collision"
    assert status.alarms == ("recoater blade collision",)
    assert 4 <= status.current_layer <= 6
    await link.finish()
    assert (await link.control.status()).alarms == (), "Clear takes the alarm away"


async def test_an_excursion_injected_over_opcua_shows_in_the_process_samples(
    link: Link,
) -> None:
    await link.control.submit(job("PO-000004-01", layers=40))
    await link.control.start("PO-000004-01")
    try:
        async with aclosing(link.control.process_samples()) as samples:
            await link.advance_layers(2.5)
            await link.control.call(
                "Simulation/InjectExcursion",
                [
                    ("ChamberOxygen", ArgumentType.STRING),
                    (2000.0, ArgumentType.DOUBLE),
                    (3, ArgumentType.UINT32),
                ],
            )
            await link.simulator.update()
            async for sample in samples:
                if sample.parameter == ProcessParameter.CHAMBER_OXYGEN and sample.value > 1500:
                    break
        with pytest.raises(PrinterRefusedError, match="not a process value"):
            await link.control.call(
                "Simulation/InjectExcursion",
                [
                    ("Colour", ArgumentType.STRING),
                    (1.0, ArgumentType.DOUBLE),
                    (1, ArgumentType.UINT32),
                ],
            )
    finally:
        await link.finish()


async def test_connection_lost_mid_job_then_back_reattaches_to_the_running_job(
    tmp_path: Path,
) -> None:
    async with simulated_link(tmp_path) as link:
        await _lose_and_regain(link)


async def _lose_and_regain(link: Link) -> None:
    await link.control.submit(job("PO-000005-01", layers=50))
    await link.control.start("PO-000005-01")
    sessions = link.control.sessions
    await link.simulator.stop()
    try:
        await wait_until(lambda: not link.control.connected)
        with pytest.raises(PrinterUnreachableError, match="not reachable"):
            await link.control.status()
        lost = await link.sink.wait_for(
            lambda r: r.tag == "State" and r.quality is Quality.BAD, what="bad State"
        )
        assert "cannot connect" in lost.reason or "lost" in lost.reason
        await link.advance_layers(10)  # the printer keeps building meanwhile
    finally:
        await link.simulator.start()
    await wait_until(lambda: link.control.connected and link.control.sessions > sessions)
    status = await link.control.status()
    assert (status.job_state, status.job_id) == (PrinterJobState.PRINTING, "PO-000005-01")
    assert status.current_layer >= 9
    assert link.control.attached_job == "PO-000005-01"
    await link.finish()


async def test_a_wrong_password_or_a_missing_mapped_node_is_said_plainly(
    link: Link, tmp_path: Path
) -> None:
    printer = secured_printer().model_copy(
        update={"opcua": secured_printer().opcua.model_copy(update={"url": link.simulator.url})}
    )
    wrong = {"PRINTER_TEST_PASSWORD": "not-the-password"}
    async with driving(printer, ManualClock(T0), tmp_path, environ=wrong) as (control, _):
        with pytest.raises(PrinterUnreachableError) as refused:
            await _first_attempt(control)
    assert "BadUserAccessDenied" in str(refused.value) or "Identity" in str(refused.value)

    broken = companion_mapping().model_copy(
        update={"state": NodeRef(path="am:RunInfo/am:BuildState")}
    )
    async with driving(printer, ManualClock(T0), tmp_path, mapping=broken) as (control, _):
        with pytest.raises(PrinterUnreachableError) as missing:
            await _first_attempt(control)
    assert "state: no 'RunInfo/BuildState' under the printer" in str(missing.value)


async def _first_attempt(control: OpcUaPrinterControl) -> None:
    """Wait until the driver has tried once, then ask for the status (which must fail)."""
    await wait_until(lambda: control.down_reason not in ("", NOT_CONNECTED_YET))
    await control.status()


async def test_a_printer_with_a_certificate_user_is_driven_with_that_certificate(
    tmp_path: Path,
) -> None:
    cert, key = make_client_certificate(tmp_path / "user", uri="urn:trustfloor:printer-user")
    key.chmod(0o600)
    identity = {"user_certificate_file": str(cert), "user_key_file": str(key)}
    printer = Printer.model_validate(
        secured_printer().model_dump(mode="json")
        | {"opcua": {"url": "opc.tcp://127.0.0.1:0/printer"} | identity}
    )
    simulator = SimulatedPrinter(printer, ManualClock(T0), pki_dir=tmp_path / "printer-pki")
    url = await simulator.start()
    served = printer.model_copy(update={"opcua": printer.opcua.model_copy(update={"url": url})})
    try:
        async with driving(served, ManualClock(T0), tmp_path / "client-pki") as (control, _):
            await wait_until(lambda: control.connected)
            assert (await control.status()).job_state is PrinterJobState.IDLE
        stranger_cert, stranger_key = make_client_certificate(tmp_path / "stranger")
        stranger = served.model_copy(
            update={
                "opcua": served.opcua.model_copy(
                    update={"user_certificate_file": stranger_cert, "user_key_file": stranger_key}
                )
            }
        )
        async with driving(stranger, ManualClock(T0), tmp_path / "client-pki") as (control, _):
            with pytest.raises(PrinterUnreachableError, match=r"BadUserAccessDenied|Identity"):
                await _first_attempt(control)
    finally:
        await simulator.stop()


def asyncua_client_tasks() -> list[str]:
    """The asyncua client loops still running in this event loop."""
    names = ("Client._renew_channel_loop", "Client._stale_watchdog_loop")
    return [
        qualname
        for task in asyncio.all_tasks()
        if not task.done() and (qualname := getattr(task.get_coro(), "__qualname__", "")) in names
    ]


@pytest.mark.parametrize("after_s", [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8])
async def test_a_driver_stopped_while_it_connects_leaves_no_client_behind(
    link: Link, tmp_path: Path, after_s: float
) -> None:
    printer = secured_printer().model_copy(
        update={"opcua": secured_printer().opcua.model_copy(update={"url": link.simulator.url})}
    )
    before = len(asyncua_client_tasks())
    async with driving(printer, ManualClock(T0), tmp_path):
        await asyncio.sleep(after_s)  # stopped somewhere between the socket and the first values
    assert len(asyncua_client_tasks()) == before
