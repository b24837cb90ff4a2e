"""A simulated printer behind the PrinterControl port in process: for flow tests, not the site."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from connectors.simulated.printer import SimulatedPrinter
from connectors.simulated.printer_model import (
    NoJobPrintingError,
    PrinterError,
    PrinterSnapshot,
    SimulatedExcursion,
    process_parameter,
)
from models import PrinterJobState, PrinterStatus, PrintJob, ProcessParameter, Sample


class SimulatedPrinterControl:
    """Implements ``models.ports.PrinterControl`` over a simulated printer, in its process.

    It calls the printer's model directly; the printer's OPC UA server shows the job on its
    next update. The site never uses it: it drives every printer, simulated ones too, over
    OPC UA (``connectors.opcua_client.printer``); tests of the print flow that need no OPC UA
    link do. ``sample_interval_s`` is how often ``process_samples`` looks for a new layer.
    """

    def __init__(self, printer: SimulatedPrinter, *, sample_interval_s: float = 0.1) -> None:
        self._printer = printer
        self._sample_interval_s = sample_interval_s
        self._submitted: dict[str, PrintJob] = {}

    @property
    def printer_id(self) -> str:
        return self._printer.printer.id

    async def submit(self, job: PrintJob) -> None:
        """Keep ``job`` until it is started."""
        self._submitted[job.job_id] = job

    async def start(self, job_id: str) -> None:
        """Start the submitted job ``job_id``; PrinterBusyError while another job prints."""
        job = self._submitted.get(job_id)
        if job is None:
            raise PrinterError(
                f"printer {self.printer_id} has no job {job_id!r} to start",
                advice="submit the job first",
            )
        self._printer.start_job(job.job_id, job.design.id, job.layers_planned, job.material_lot)
        del self._submitted[job_id]

    async def abort(self, job_id: str) -> None:
        """Stop ``job_id`` where it is; NoJobPrintingError unless it is the job printing."""
        snapshot = self._snapshot()
        if snapshot.state is not PrinterJobState.PRINTING or snapshot.job_id != job_id:
            raise NoJobPrintingError(
                f"printer {self.printer_id} is not printing job {job_id!r}",
                advice="abort the job the printer shows as printing",
            )
        self._printer.abort()

    async def status(self) -> PrinterStatus:
        snapshot = self._snapshot()
        return PrinterStatus(
            id=self.printer_id,
            job_state=snapshot.state,
            current_layer=snapshot.current_layer,
            layers_planned=snapshot.layers_planned,
            material_lot=snapshot.material_lot,
            order_id=snapshot.job_id,
        )

    async def process_samples(self) -> AsyncGenerator[Sample, None]:
        """The process values of each new layer while a job prints, stamped when first seen."""
        shown: tuple[str, int] | None = None
        while True:
            now = self._printer.clock.now()
            snapshot = self._printer.model.snapshot(now)
            layer = (snapshot.job_id, snapshot.current_layer)
            if snapshot.state is PrinterJobState.PRINTING and layer != shown:
                shown = layer
                for parameter, value in snapshot.process.items():
                    yield Sample(parameter.value, now, value)
            else:
                await asyncio.sleep(self._sample_interval_s)

    async def inject_excursion(
        self, parameter: ProcessParameter | str, magnitude: float, duration_layers: int
    ) -> SimulatedExcursion:
        """Shift a process value of the printing job for some layers (the demo's faulty jobs)."""
        return self._printer.inject_excursion(
            process_parameter(parameter), magnitude, duration_layers
        )

    def _snapshot(self) -> PrinterSnapshot:
        return self._printer.model.snapshot(self._printer.clock.now())
