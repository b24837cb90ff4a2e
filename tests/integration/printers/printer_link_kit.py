"""Helpers of the printer link tests: a secured simulated printer, a running driver, jobs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config import PrinterMapping, companion_mapping
from connectors.opcua_client.printer import OpcUaPrinterControl
from connectors.simulated import ManualClock, SimulatedPrinter
from connectors.simulated.printer_model import NOMINAL
from models import DesignRef, PrinterJobState, PrinterStatus, PrintJob, ProcessParameter
from models.machines import Printer
from tests.integration.opcua_client.opcua_client_kit import CollectingSink, fast_backoff
from tests.support import wait_for, wait_until

PASSWORD_ENV = "PRINTER_TEST_PASSWORD"
ENVIRON = {PASSWORD_ENV: "s3cret-printer-pass"}
COMPRESSION = 100.0
LAYER_S = NOMINAL[ProcessParameter.LAYER_TIME].mean / COMPRESSION
"""Real seconds one layer takes on the simulator's clock, nominally."""
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
DOSSIER = "ab" * 32


def secured_printer(printer_id: str = "am-1", **opcua: Any) -> Printer:
    """A simulated printer served with Basic256Sha256 SignAndEncrypt and one user."""
    endpoint = {
        "url": "opc.tcp://127.0.0.1:0/printer",
        "username": "trustfloor",
        "password_env": PASSWORD_ENV,
    } | opcua
    return Printer.model_validate(
        {
            "id": printer_id,
            "manufacturer": "Demo Additive",
            "model": "LPBF-250",
            "serial_number": "LPBF250-0007",
            "simulated": True,
            "opcua": endpoint,
        }
    )


def job(job_id: str, layers: int = 30, printer: str = "am-1") -> PrintJob:
    return PrintJob(
        job_id=job_id,
        serial=job_id,
        design=DesignRef(id="bracket-7", revision="B", dossier_sha256=DOSSIER),
        printer=printer,
        order_id="PO-000001",
        material_lot="",
        layers_planned=layers,
        started_at=T0,
    )


@dataclass
class Link:
    """A simulated printer, the driver connected to it, and what the driver published."""

    simulator: SimulatedPrinter
    control: OpcUaPrinterControl
    clock: ManualClock
    sink: CollectingSink

    async def advance_layers(self, layers: float) -> None:
        self.clock.advance(layers * LAYER_S)
        await self.simulator.update()

    async def status_where(self, accept: Any) -> PrinterStatus:
        return await wait_for(self.control.status, accept)

    async def finish(self) -> None:
        """Let any job end and clear it, so that the next test starts on an idle printer."""
        self.clock.advance(3600.0)
        await self.simulator.update()
        status = await self.control.status()
        if status.job_id:
            await self.control.clear(status.job_id)
        await self.status_where(lambda s: s.job_state is PrinterJobState.IDLE)


@asynccontextmanager
async def simulated_link(folder: Path) -> AsyncIterator[Link]:
    """A secured simulated printer and a driver connected to it, for the block."""
    clock = ManualClock(T0)
    printer = secured_printer()
    simulator = SimulatedPrinter(
        printer,
        clock,
        seed=3,
        time_compression=COMPRESSION,
        pki_dir=folder / "printer-pki",
        environ=ENVIRON,
    )
    url = await simulator.start()
    served = printer.model_copy(update={"opcua": printer.opcua.model_copy(update={"url": url})})
    try:
        async with driving(served, clock, folder / "client-pki") as (control, sink):
            await wait_until(lambda: control.connected)
            yield Link(simulator, control, clock, sink)
    finally:
        await simulator.stop()


@asynccontextmanager
async def driving(
    printer: Printer,
    clock: ManualClock,
    pki: Path,
    mapping: PrinterMapping | None = None,
    environ: dict[str, str] | None = None,
) -> AsyncIterator[tuple[OpcUaPrinterControl, CollectingSink]]:
    """A driver for ``printer`` running into a collecting sink for the block."""
    control = OpcUaPrinterControl(
        printer,
        mapping or companion_mapping(),
        clock,
        pki_dir=pki,
        environ=environ or ENVIRON,
        backoff=fast_backoff(),
    )
    sink = CollectingSink()
    task = asyncio.create_task(control.run(sink), name=control.name)
    try:
        yield control, sink
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
