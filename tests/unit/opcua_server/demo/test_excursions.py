"""The demo's faulty jobs: every n-th job started on any printer gets a laser power excursion."""

from __future__ import annotations

import pytest

from connectors.simulated import ManualClock
from models import ProcessParameter
from opcua_server.demo.excursions import faulty_printers
from tests.unit.connectors.simulated.printer_kit import T0, simulated_printer, started

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_every_second_job_over_the_site_gets_an_excursion() -> None:
    clock = ManualClock(T0)
    am1, am2 = simulated_printer(clock, "am-1"), simulated_printer(clock, "am-2")
    controls = faulty_printers({"am-1": am1, "am-2": am2}, every=2)

    await started(controls["am-1"], "PO-000001-01", layers=200)
    await started(controls["am-2"], "PO-000002-01", layers=200)
    clock.advance(24 * 3600.0)
    await started(controls["am-1"], "PO-000001-02", layers=200)
    await started(controls["am-2"], "PO-000002-02", layers=200)

    assert am1.model.excursions == []
    [first, second] = am2.model.excursions
    assert (first.job_id, second.job_id) == ("PO-000002-01", "PO-000002-02")
    assert (first.parameter, first.magnitude) == (ProcessParameter.LASER_POWER, 45.0)
    assert (first.first_layer, first.last_layer) == (1, 40), "the first fifth of 200 layers"
