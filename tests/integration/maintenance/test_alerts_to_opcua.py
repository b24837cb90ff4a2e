"""Alerts reach the OPC UA server's alarm conditions through the AlarmSink port, across restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from maintenance import AlertService, AlertStore
from maintenance.orders import SqliteOrderBook
from opcua_server.runtime.adapters import AlarmManagerSink
from tests.integration.opcua.alarm_kit import AlarmSite, running_alarm_site
from tests.unit.maintenance.alerts.policy_kit import AFTER_ORDER, BEARING, MILL, SETTINGS, WEAR

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def alarm_site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AlarmSite]:
    async with running_alarm_site(tmp_path_factory.mktemp("alerts-opcua")) as site:
        yield site


async def start_service(folder: Path, site: AlarmSite) -> AlertService:
    return await AlertService.start(
        AlertStore(folder / "alerts.sqlite"),
        SqliteOrderBook(folder / "orders.sqlite"),
        SETTINGS,
        sink=AlarmManagerSink(site.alarms, site.machines),
    )


async def stop_service(service: AlertService) -> None:
    await service.orders.close()
    service.store.close()


async def test_a_wearing_bearing_is_one_alarm_that_names_its_order_and_clears_on_replacement(
    alarm_site: AlarmSite, tmp_path: Path
) -> None:
    service = await start_service(tmp_path, alarm_site)
    await service.observe(WEAR[:AFTER_ORDER])
    ordered = alarm_site.alarms.condition(MILL, BEARING)
    await stop_service(service)
    restarted = await start_service(tmp_path, alarm_site)  # re-asserts the open alert's alarm
    after_restart = alarm_site.alarms.condition(MILL, BEARING)
    await restarted.replaced(MILL, BEARING, WEAR[AFTER_ORDER].score.ts)
    cleared = alarm_site.alarms.condition(MILL, BEARING)
    await stop_service(restarted)
    assert ordered is not None
    assert (ordered.active, ordered.severity) == (True, 800)
    assert ordered.message.startswith("Spindle bearing of mill-1 is wearing: ")
    assert ordered.message.endswith("Print order PO-000001 raised for bearing-housing.")
    assert ordered.source_node == alarm_site.machines[MILL]
    assert after_restart == ordered  # same state, same EventId: no second alarm event
    assert cleared is not None
    assert not cleared.active
    assert cleared.message.endswith("Cleared: Spindle bearing of mill-1 was replaced.")
    assert [c.component for c in alarm_site.alarms.retained()] == [BEARING]
