"""The demo's faulty jobs: a laser power excursion injected, over OPC UA, into every n-th job."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from config import ArgumentType
from connectors import OpcUaPrinterControl
from models import PrinterControl, PrinterStatus, PrintJob, ProcessParameter, Sample

EXCURSION_PARAMETER = ProcessParameter.LASER_POWER
EXCURSION_MAGNITUDE_W = 45.0
"""Added to the nominal 280 W: above the demo designs' laser power window (265–295 W)."""
EXCURSION_SHARE = 5
"""The excursion lasts the first fifth of the job's layers."""
INJECT_EXCURSION = "Simulation/InjectExcursion"
"""The simulated printer's own method (no companion spec has one), under the printer."""


class ExcursionSchedule:
    """Counts the jobs started on the site's printers: every ``every``-th one is faulty."""

    def __init__(self, every: int) -> None:
        self._every = every
        self._started = 0

    def next_is_faulty(self) -> bool:
        """Count one more job started; whether it gets an excursion."""
        self._started += 1
        return self._every > 0 and self._started % self._every == 0


class PrinterWithExcursions:
    """A printer driven over OPC UA whose jobs get the schedule's excursions as they start,
    through the simulated printer's InjectExcursion method."""

    def __init__(self, control: OpcUaPrinterControl, schedule: ExcursionSchedule) -> None:
        self._control = control
        self._schedule = schedule

    @property
    def printer_id(self) -> str:
        return self._control.printer_id

    async def submit(self, job: PrintJob) -> None:
        await self._control.submit(job)

    async def start(self, job_id: str) -> None:
        await self._control.start(job_id)
        if self._schedule.next_is_faulty():
            layers = (await self._control.status()).layers_planned // EXCURSION_SHARE
            await self._control.call(
                INJECT_EXCURSION,
                [
                    (EXCURSION_PARAMETER.value, ArgumentType.STRING),
                    (EXCURSION_MAGNITUDE_W, ArgumentType.DOUBLE),
                    (max(layers, 1), ArgumentType.UINT32),
                ],
            )

    async def abort(self, job_id: str) -> None:
        await self._control.abort(job_id)

    async def status(self) -> PrinterStatus:
        return await self._control.status()

    def process_samples(self) -> AsyncIterator[Sample]:
        return self._control.process_samples()


def faulty_printers(
    printers: Mapping[str, OpcUaPrinterControl], every: int
) -> Mapping[str, PrinterControl]:
    """Each printer behind its driver; every ``every``-th job started on any of them gets an
    excursion, so its certificate fails."""
    schedule = ExcursionSchedule(every)
    return {name: PrinterWithExcursions(control, schedule) for name, control in printers.items()}
