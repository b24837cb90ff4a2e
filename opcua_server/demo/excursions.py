"""The demo's faulty jobs: a laser power excursion injected into every n-th print job."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.simulated import SimulatedPrinter, SimulatedPrinterControl
from models import PrinterControl, ProcessParameter

EXCURSION_PARAMETER = ProcessParameter.LASER_POWER
EXCURSION_MAGNITUDE_W = 45.0
"""Added to the nominal 280 W: above the demo designs' laser power window (265–295 W)."""
EXCURSION_SHARE = 5
"""The excursion lasts the first fifth of the job's layers."""


class ExcursionSchedule:
    """Counts the jobs started on the site's printers: every ``every``-th one is faulty."""

    def __init__(self, every: int) -> None:
        self._every = every
        self._started = 0

    def next_is_faulty(self) -> bool:
        """Count one more job started; whether it gets an excursion."""
        self._started += 1
        return self._every > 0 and self._started % self._every == 0


class PrinterWithExcursions(SimulatedPrinterControl):
    """A simulated printer whose jobs get the schedule's excursions as they start."""

    def __init__(self, printer: SimulatedPrinter, schedule: ExcursionSchedule) -> None:
        super().__init__(printer)
        self._schedule = schedule

    async def start(self, job_id: str) -> None:
        await super().start(job_id)
        if self._schedule.next_is_faulty():
            layers = (await self.status()).layers_planned // EXCURSION_SHARE
            await self.inject_excursion(EXCURSION_PARAMETER, EXCURSION_MAGNITUDE_W, layers)


def faulty_printers(
    printers: Mapping[str, SimulatedPrinter], every: int
) -> Mapping[str, PrinterControl]:
    """Each simulated printer behind its control; every ``every``-th job started on any of them
    gets an excursion, so its certificate fails."""
    schedule = ExcursionSchedule(every)
    return {name: PrinterWithExcursions(printer, schedule) for name, printer in printers.items()}
