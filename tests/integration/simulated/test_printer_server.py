"""The simulated printer as a real OPC UA server: jobs by method call, layers, excursions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua

from connectors.opcua_client import OpcUaConnector
from connectors.simulated import ManualClock, SimulatedPrinter
from connectors.simulated.printer_model import NOMINAL
from models import ProcessParameter, Quality, printer_tags
from models.machines import OpcUaMachine, Printer
from models.printing import printer_node_id
from tests.integration.opcua_client.opcua_client_kit import CollectingSink, running

pytestmark = pytest.mark.asyncio(loop_scope="session")

COMPRESSION = 100.0
LAYER_S = NOMINAL[ProcessParameter.LAYER_TIME].mean / COMPRESSION
"""Real seconds one layer takes, nominally."""

PRINTER = Printer.model_validate(
    {
        "id": "am-1",
        "manufacturer": "Demo Additive",
        "model": "LPBF-250",
        "serial_number": "LPBF250-0007",
        "simulated": True,
        "opcua": {
            "url": "opc.tcp://127.0.0.1:0/printer",
            "security_policy": "None",
            "security_mode": "None",
        },
    }
)


@dataclass
class Bench:
    printer: SimulatedPrinter
    clock: ManualClock
    client: Client

    async def read(self, name: str) -> Any:
        ns = await self.client.get_namespace_index("urn:trustfloor:sim:printer")
        path = printer_node_id("am-1", name).split(";s=", 1)[1]
        return await self.client.get_node(ua.NodeId(path, ns)).read_value()

    async def call(self, method: str, *args: ua.Variant) -> None:
        ns = await self.client.get_namespace_index("urn:trustfloor:sim:printer")
        job = self.client.get_node(ua.NodeId("Machines/am-1/JobManagement", ns))
        await job.call_method(ua.NodeId(f"Machines/am-1/JobManagement/{method}", ns), *args)

    async def advance_layers(self, layers: float) -> None:
        """Move the clock by ``layers`` nominal layer times and publish the printer's values."""
        self.clock.advance(layers * LAYER_S)
        await self.printer.update()

    async def finish(self) -> None:
        """Let any job run to its end, so that the next test starts on an idle printer."""
        self.clock.advance(3600.0)
        await self.printer.update()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def bench() -> AsyncIterator[Bench]:
    clock = ManualClock()
    printer = SimulatedPrinter(PRINTER, clock, seed=3, time_compression=COMPRESSION)
    url = await printer.start()
    async with Client(url) as client:
        yield Bench(printer, clock, client)
    await printer.stop()


def start_args(job: str, layers: int) -> tuple[ua.Variant, ...]:
    return (
        ua.Variant(job, ua.VariantType.String),
        ua.Variant("bracket-7", ua.VariantType.String),
        ua.Variant(layers, ua.VariantType.UInt32),
        ua.Variant("LOT-316L-0042", ua.VariantType.String),
    )


async def test_a_job_started_by_method_call_prints_its_layers_to_completion(bench: Bench) -> None:
    completed_before = await bench.read("JobsCompleted")
    await bench.call("StartJob", *start_args("job-A", 20))
    assert await bench.read("State") == "Printing"
    assert await bench.read("JobId") == "job-A"
    assert await bench.read("LayersPlanned") == 20
    assert await bench.read("MaterialLot") == "LOT-316L-0042"
    assert await bench.read("CurrentLayer") == 0
    await bench.advance_layers(10.5)
    assert 9 <= await bench.read("CurrentLayer") <= 11
    laser = await bench.read("LaserPower")
    assert isinstance(laser, float)
    assert abs(laser - 280.0) < 10.0
    await bench.advance_layers(15)
    assert await bench.read("State") == "Completed"
    assert await bench.read("CurrentLayer") == 20
    assert await bench.read("JobsCompleted") == completed_before + 1
    assert await bench.read("LaserPower") == 0.0


async def test_a_busy_printer_refuses_a_job_with_bad_invalid_state(bench: Bench) -> None:
    await bench.call("StartJob", *start_args("job-B", 30))
    try:
        with pytest.raises(ua.UaStatusCodeError, match="BadInvalidState"):
            await bench.call("StartJob", *start_args("job-C", 30))
        with pytest.raises(ua.UaStatusCodeError, match="BadInvalidArgument"):
            await bench.call(
                "InjectExcursion",
                ua.Variant("Colour", ua.VariantType.String),
                ua.Variant(1.0, ua.VariantType.Double),
                ua.Variant(1, ua.VariantType.UInt32),
            )
        assert await bench.read("JobId") == "job-B"
    finally:
        await bench.finish()


async def test_an_injected_excursion_shows_in_the_process_values(bench: Bench) -> None:
    await bench.call("StartJob", *start_args("job-D", 40))
    try:
        await bench.advance_layers(5.5)
        nominal = await bench.read("ChamberOxygen")
        assert isinstance(nominal, float)
        await bench.call(
            "InjectExcursion",
            ua.Variant("ChamberOxygen", ua.VariantType.String),
            ua.Variant(2000.0, ua.VariantType.Double),
            ua.Variant(3, ua.VariantType.UInt32),
        )
        during = await bench.read("ChamberOxygen")
        assert isinstance(during, float)
        assert during == pytest.approx(nominal + 2000.0)
        await bench.advance_layers(4)
        after = await bench.read("ChamberOxygen")
        assert isinstance(after, float)
        assert abs(after - 400.0) < 200.0, "the excursion ends after its layers"
        bench.printer.inject_excursion("LaserPower", -120.0, 2)  # the Python API does the same
        await bench.printer.update()
        low = await bench.read("LaserPower")
        assert isinstance(low, float)
        assert low < 200.0
        [oxygen, laser] = bench.printer.model.excursions[-2:]
        assert (oxygen.parameter, oxygen.magnitude, oxygen.last_layer - oxygen.first_layer) == (
            ProcessParameter.CHAMBER_OXYGEN,
            2000.0,
            2,
        )
        assert laser.first_layer == oxygen.last_layer + 2
    finally:
        await bench.finish()


async def test_the_address_space_carries_identification_and_engineering_units(
    bench: Bench,
) -> None:
    ns = await bench.client.get_namespace_index("urn:trustfloor:sim:printer")
    ident = bench.client.get_node(ua.NodeId("Machines/am-1/Identification/SerialNumber", ns))
    assert await ident.read_value() == "LPBF250-0007"
    laser = bench.client.get_node(
        ua.NodeId("Machines/am-1/Monitoring/ProcessValues/LaserPower", ns)
    )
    units = await laser.get_child(ua.QualifiedName("EngineeringUnits", 0))
    info = await units.read_value()
    assert info.DisplayName.Text == "W"
    assert info.UnitId == int.from_bytes(b"WTT", "big")


async def test_the_opcua_client_connector_follows_a_print_job(bench: Bench) -> None:
    machine = OpcUaMachine(
        id="am-1",
        opcua=PRINTER.opcua.model_copy(update={"url": bench.printer.url}),
        tags=printer_tags("am-1", sampling_interval_ms=50),
    )
    sink = CollectingSink()
    async with running(OpcUaConnector(machine, bench.clock), sink):
        await sink.good("State")
        await bench.call("StartJob", *start_args("job-E", 10))
        started = sink.readings.index(await sink.good("JobId", value="job-E"))
        await bench.advance_layers(4.5)
        await sink.good("CurrentLayer", value=4, after=started)
        await bench.advance_layers(10)
        completed = await sink.good("State", value="Completed", after=started)
    assert completed.source_ts == bench.clock.now(), "the printer stamps its values"
    lasers = [r for r in sink.readings if r.tag == "LaserPower" and r.quality is Quality.GOOD]
    assert any(isinstance(r.value, float) and r.value > 200.0 for r in lasers)
