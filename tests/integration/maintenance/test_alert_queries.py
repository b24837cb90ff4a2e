"""The alert service answers what is open, by id and as table rows, without its store."""

from __future__ import annotations

from pathlib import Path

import pytest

from maintenance.alert_store import UnknownAlertError
from models import AlertState
from tests.integration.maintenance.test_alert_service import service_on
from tests.unit.maintenance.alerts.policy_kit import AFTER_ORDER, BEARING, MILL, WEAR, at

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_open_alerts_their_count_and_rows_follow_raise_and_clear(tmp_path: Path) -> None:
    async with service_on(tmp_path) as service:
        before = (await service.open_alerts(), await service.open_count())
        await service.observe(WEAR[:AFTER_ORDER])
        opened = await service.open_alerts()
        count = await service.open_count()
        rows = await service.active_rows()
        await service.replaced(MILL, BEARING, at(47 * 60))
        after = (await service.open_alerts(), await service.open_count())
        rows_after = await service.active_rows()
    assert before == ([], 0)
    assert [(a.id, a.order_id) for a in opened] == [("AL-000001", "PO-000001")]
    assert count == 1
    assert [(r.alert_id, r.order_id, r.order_state) for r in rows] == [
        ("AL-000001", "PO-000001", "created")
    ]
    assert after == ([], 0)
    assert rows_after == []


async def test_an_alert_is_found_by_id_in_any_state(tmp_path: Path) -> None:
    async with service_on(tmp_path) as service:
        [*_, raised] = await service.observe(WEAR[:AFTER_ORDER])
        found = await service.alert(raised.id)
        await service.replaced(MILL, BEARING, at(47 * 60))
        cleared = await service.alert(raised.id)
        with pytest.raises(UnknownAlertError):
            await service.alert("AL-000099")
    assert found == raised
    assert (cleared.id, cleared.state) == (raised.id, AlertState.CLEARED)
