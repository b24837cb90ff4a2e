"""Simulated printers driven in process and the jobs the print flow hands them, for tests."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.simulated import ManualClock, SimulatedPrinter
from models import DesignRef, PrinterControl, PrintJob
from models.machines import OpcUaEndpoint, Printer

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
ENDPOINT = OpcUaEndpoint(
    url="opc.tcp://127.0.0.1:0/printer", security_policy="None", security_mode="None"
)


def simulated_printer(clock: ManualClock, printer_id: str = "am-1") -> SimulatedPrinter:
    """A simulated printer driven in process (its OPC UA server is not started)."""
    return SimulatedPrinter(Printer(id=printer_id, opcua=ENDPOINT, simulated=True), clock)


def job(job_id: str, layers: int = 30) -> PrintJob:
    return PrintJob(
        job_id=job_id,
        serial=job_id,
        design=DesignRef(id="bracket-7", revision="B", dossier_sha256="ab" * 32),
        printer="am-1",
        order_id="PO-000001",
        material_lot="LOT-316L-0042",
        layers_planned=layers,
        started_at=T0,
    )


async def started(control: PrinterControl, job_id: str, layers: int = 30) -> None:
    await control.submit(job(job_id, layers))
    await control.start(job_id)
