"""A simulated site over the wire: component wear read through Modbus, failure, replacement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client

from config.settings import Settings
from connectors.modbus import ModbusConnector
from connectors.simulated import RunState, SimulatedSite, WearEventKind
from models import Machine, Quality
from models.timebase import ManualClock

pytestmark = pytest.mark.asyncio(loop_scope="session")


def holding(name: str, address: int, data_type: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "address": {"address": address, "data_type": data_type}} | extra


SETTINGS = Settings.model_validate(
    {
        "simulation": {"seed": 11, "time_compression": 3600.0},  # one real second: one hour
        "site": {
            "machines": [
                {
                    "id": "mill-1",
                    "simulated": True,
                    "modbus": {"port": 0},
                    "components": [
                        {"name": "spindle_bearing", "kind": "bearing", "mean_life_h": 200},
                        {"name": "spindle", "kind": "spindle", "mean_life_h": 400},
                    ],
                    "tags": [
                        holding("spindle_temp", 0, "float32", eu_low=15.0, eu_high=120.0),
                        holding("vibration_rms", 2, "float32", eu_low=0.0, eu_high=25.0),
                        holding("spindle_speed", 4, "uint32", eu_low=0.0, eu_high=24000.0),
                        holding("state", 6, "uint16"),
                        holding("alarm", 7, "uint16"),
                    ],
                }
            ],
            "printers": [
                {
                    "id": "am-1",
                    "simulated": True,
                    "opcua": {
                        "url": "opc.tcp://127.0.0.1:0/printer",
                        "security_policy": "None",
                        "security_mode": "None",
                    },
                }
            ],
        },
    }
)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def running_site() -> AsyncIterator[tuple[SimulatedSite, ManualClock, Settings]]:
    clock = ManualClock()
    site = SimulatedSite(SETTINGS.site, SETTINGS.simulation, clock)
    started = await site.start()
    yield site, clock, SETTINGS.model_copy(update={"site": started})
    await site.stop()


async def poll(machine: Machine, clock: ManualClock) -> dict[str, float]:
    connector = ModbusConnector(machine, clock)
    try:
        readings, connected = await connector.poll_once()
    finally:
        await connector.close()
    assert connected
    assert all(r.quality is Quality.GOOD for r in readings), readings
    return {r.tag: float(r.value) for r in readings if isinstance(r.value, int | float)}


async def test_wear_shows_in_modbus_reads_until_failure_and_replacement_restarts(
    running_site: tuple[SimulatedSite, ManualClock, Settings],
) -> None:
    site, clock, settings = running_site
    [machine] = settings.site.machines
    assert machine.modbus.port != 0
    new = await poll(machine, clock)
    assert new["state"] == RunState.RUNNING
    assert new["spindle_speed"] > 1000.0

    truth = {c: site.failure_time("mill-1", c) for c in ("spindle_bearing", "spindle")}
    component, failure_at = min(
        ((c, t) for c, t in truth.items() if t is not None), key=lambda item: item[1]
    )
    clock.set(failure_at - timedelta(seconds=0.5))  # half a simulated hour before failure
    worn = await poll(machine, clock)
    assert worn["state"] == RunState.RUNNING
    assert worn["vibration_rms"] > new["vibration_rms"] + 5.0
    assert worn["spindle_temp"] > new["spindle_temp"] + 5.0

    clock.set(failure_at + timedelta(seconds=1))
    failed = await poll(machine, clock)
    assert failed["state"] == RunState.FAILED
    assert failed["alarm"] == 1 + ["spindle_bearing", "spindle"].index(component)
    assert failed["spindle_speed"] == 0.0
    [failure] = site.failures()
    assert (failure.component, failure.at) == (component, failure_at)

    site.replace("mill-1", component)
    repaired = await poll(machine, clock)
    assert repaired["state"] == RunState.RUNNING
    assert repaired["alarm"] == 0.0
    assert repaired["spindle_speed"] > 1000.0
    assert site.health("mill-1", component) == 1.0
    assert [e.kind for e in site.events()] == [WearEventKind.FAILURE, WearEventKind.REPLACEMENT]


async def test_the_site_serves_its_printers_on_the_ports_it_reports(
    running_site: tuple[SimulatedSite, ManualClock, Settings],
) -> None:
    _, _, settings = running_site
    [printer] = settings.site.printers
    assert ":0/" not in printer.opcua.url
    async with Client(printer.opcua.url) as client:
        ns = await client.get_namespace_index("urn:trustfloor:sim:printer")
        state = client.get_node(f"ns={ns};s=Machines/am-1/RunInfo/JobState")
        assert await state.read_value() == "Idle"
