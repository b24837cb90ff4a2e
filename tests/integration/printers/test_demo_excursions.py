"""The demo's faulty jobs: every n-th job started gets a laser power excursion, over OPC UA."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import ProcessParameter
from opcua_server.demo.excursions import faulty_printers
from tests.integration.printers.printer_link_kit import job, simulated_link

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_every_second_job_gets_an_excursion_through_inject_excursion(
    tmp_path: Path,
) -> None:
    async with simulated_link(tmp_path) as link:
        controls = faulty_printers({"am-1": link.control}, every=2)
        for serial in ("PO-000001-01", "PO-000001-02"):
            await controls["am-1"].submit(job(serial, layers=200))
            await controls["am-1"].start(serial)
            if serial.endswith("01"):
                await link.finish()

        [excursion] = link.simulator.model.excursions
        assert excursion.job_id == "PO-000001-02"
        assert (excursion.parameter, excursion.magnitude) == (ProcessParameter.LASER_POWER, 45.0)
        assert (excursion.first_layer, excursion.last_layer) == (1, 40), "a fifth of 200 layers"
        await link.finish()
