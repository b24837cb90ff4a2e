"""The demo's technician: certified parts fitted after their logistics time, unforeseen repairs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from config import SiteSettings
from config.settings import MaintenanceSettings, SimulationSettings, SparePart
from connectors.simulated import ManualClock, SimulatedSite
from maintenance import AlertService, AlertStore
from maintenance.alert_policy import Observation
from maintenance.orders import SqliteOrderBook
from models import AlertState, HealthScore, HealthState, OrderState
from opcua_server.demo.actors import DemoTechnician
from tests.unit.connectors.simulated.test_wear import BEARING, mill

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = datetime(2026, 5, 4, tzinfo=UTC)
COMPRESSION = 3600.0
PART = SparePart(
    component="spindle_bearing", design_id="bearing-housing", print_hours=18, logistics_hours=30
)
SETTINGS = MaintenanceSettings(min_duration_s=0, margin_h=24, spare_parts=(PART,))


@dataclass
class Workshop:
    clock: ManualClock
    simulation: SimulatedSite
    orders: SqliteOrderBook
    alerts: AlertService
    technician: DemoTechnician


@pytest_asyncio.fixture(loop_scope="session")
async def workshop(tmp_path: Path) -> AsyncIterator[Workshop]:
    clock = ManualClock(T0)
    worn = BEARING.model_copy(update={"initial_wear": 0.5})
    site = SiteSettings(machines=(mill((worn,)),))
    simulation = SimulatedSite(site, SimulationSettings(time_compression=COMPRESSION), clock)
    orders = SqliteOrderBook(tmp_path / "orders.sqlite", clock=clock)
    alerts = await AlertService.start(
        AlertStore(tmp_path / "alerts.sqlite"), orders, SETTINGS, clock=clock
    )
    catalogue = {PART.component: PART}
    technician = DemoTechnician(simulation, orders, alerts, None, catalogue, clock)
    yield Workshop(clock, simulation, orders, alerts, technician)
    await orders.close()
    alerts.store.close()


def hours(simulated_h: float) -> float:
    """Clock seconds of ``simulated_h`` hours on the compressed site."""
    return simulated_h * 3600.0 / COMPRESSION


async def test_a_certified_part_is_fitted_once_it_has_arrived(workshop: Workshop) -> None:
    w = workshop
    score = HealthScore(
        machine="mill-1", ts=T0, anomaly_score=5.0, rul_low=30.0, state=HealthState.ALARM
    )
    [alert] = await w.alerts.observe([Observation(score, "spindle_bearing")])
    order = await w.orders.get_order(alert.order_id)
    for state in (OrderState.DISPATCHED, OrderState.PRINTING, OrderState.PRINTED):
        await w.orders.update_state(order.id, state, actor="test")
    await w.technician.tick()
    assert w.technician.repairs.fitted_orders == set(), "not certified yet"
    await w.orders.update_state(order.id, OrderState.CERTIFIED, actor="test")
    w.clock.advance(hours(PART.logistics_hours) - 1)
    await w.technician.tick()
    assert w.technician.repairs.fitted_orders == set(), "still on its way"
    w.clock.advance(2)
    await w.technician.tick()
    assert w.technician.repairs.fitted_orders == {order.id}
    assert w.technician.repairs.before_failure == 1
    assert w.simulation.health("mill-1", "spindle_bearing") == 1.0
    assert w.alerts.store.get(alert.id).state is AlertState.CLEARED
    await w.technician.tick()
    assert w.technician.repairs.before_failure == 1, "a part is fitted once"


async def test_a_machine_failed_with_nothing_on_order_is_repaired_after_the_lead_time(
    workshop: Workshop,
) -> None:
    w = workshop
    failed_at = w.simulation.failure_time("mill-1", "spindle_bearing")
    assert failed_at is not None
    w.clock.set(failed_at + timedelta(seconds=1))
    await w.technician.tick()
    assert w.simulation.wear["mill-1"].failed_component(w.clock.now()) == "spindle_bearing"
    w.clock.set(failed_at + timedelta(seconds=hours(PART.lead_time_h) + 1))
    await w.technician.tick()
    assert w.technician.repairs.unplanned == 1
    assert w.simulation.wear["mill-1"].failed_component(w.clock.now()) is None
