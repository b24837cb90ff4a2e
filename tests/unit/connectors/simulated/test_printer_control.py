"""A simulated printer behind the PrinterControl port: jobs submitted, started, aborted, read."""

from __future__ import annotations

from contextlib import aclosing

import pytest

from connectors.simulated import ManualClock, SimulatedPrinterControl
from connectors.simulated.printer_model import NoJobPrintingError, PrinterBusyError, PrinterError
from models import InvalidStateError, PrinterJobState, ProcessParameter
from tests.unit.connectors.simulated.printer_kit import T0, job, simulated_printer, started

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_submitted_job_prints_once_started() -> None:
    clock = ManualClock(T0)
    printer = simulated_printer(clock)
    control = SimulatedPrinterControl(printer)

    await control.submit(job("PO-000001-01"))
    assert (await control.status()).job_state is PrinterJobState.IDLE
    await control.start("PO-000001-01")

    status = await control.status()
    assert (status.id, status.job_state, status.order_id) == (
        "am-1",
        PrinterJobState.PRINTING,
        "PO-000001-01",
    )
    assert (status.layers_planned, status.material_lot) == (30, "LOT-316L-0042")
    assert printer.model.snapshot(clock.now()).design_id == "bracket-7"
    clock.advance(3600.0)
    status = await control.status()
    assert (status.job_state, status.current_layer) == (PrinterJobState.COMPLETED, 30)


async def test_a_job_not_submitted_or_a_busy_printer_is_refused() -> None:
    clock = ManualClock(T0)
    control = SimulatedPrinterControl(simulated_printer(clock))
    with pytest.raises(PrinterError, match="no job 'PO-000009-01'"):
        await control.start("PO-000009-01")

    await started(control, "PO-000001-01")
    await control.submit(job("PO-000001-02"))
    with pytest.raises(PrinterBusyError) as busy:
        await control.start("PO-000001-02")
    assert isinstance(busy.value, InvalidStateError), "the port's refusal for a busy printer"
    clock.advance(3600.0)
    await control.start("PO-000001-02")  # still submitted, it starts once the printer is free
    assert (await control.status()).order_id == "PO-000001-02"


async def test_abort_stops_only_the_job_that_prints() -> None:
    clock = ManualClock(T0)
    control = SimulatedPrinterControl(simulated_printer(clock))
    await started(control, "PO-000001-01")
    clock.advance(100.0)

    with pytest.raises(NoJobPrintingError) as other:
        await control.abort("PO-000001-02")
    assert isinstance(other.value, InvalidStateError)
    await control.abort("PO-000001-01")

    clock.advance(3600.0)
    status = await control.status()
    assert status.job_state is PrinterJobState.ABORTED
    assert 0 < status.current_layer < 30


async def test_process_samples_bring_each_new_layer_of_a_printing_job() -> None:
    clock = ManualClock(T0)
    printer = simulated_printer(clock)
    control = SimulatedPrinterControl(printer, sample_interval_s=0.01)
    await started(control, "PO-000001-01")
    parameters = [p.value for p in ProcessParameter]

    async with aclosing(control.process_samples()) as samples:
        first = [await anext(samples) for _ in parameters]
        clock.advance(100.0)
        second = [await anext(samples) for _ in parameters]

    assert [s.parameter for s in first] == [s.parameter for s in second] == parameters
    assert {s.ts for s in first} == {T0}
    assert {s.ts for s in second} == {clock.now()}
    now = printer.model.snapshot(clock.now())
    assert now.current_layer > 0
    assert [s.value for s in second] == [now.process[ProcessParameter(p)] for p in parameters]
    laser = ProcessParameter.LASER_POWER.value
    assert [s.value for s in first if s.parameter == laser] != [
        s.value for s in second if s.parameter == laser
    ], "a new layer has new values"
