"""`trustfloor alerts --suppressed` lists what the calibrated policy held back, and the budgets."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config import MaintenanceSettings, load_demo_settings
from maintenance.alert_policy import Observation
from maintenance.alert_store import AlertStore
from maintenance.alerts import AlertService
from maintenance.orders import SqliteOrderBook
from models import HealthScore, ManualClock
from opcua_server.cli.main import main

pytestmark = pytest.mark.asyncio(loop_scope="session")

MILL, BEARING = "mill-1", "spindle_bearing"


def anomalous(start: datetime, minutes: int) -> list[Observation]:
    """Scores a minute apart from ``start``: far above the alarm threshold, no RUL."""
    return [
        Observation(
            HealthScore(
                machine=MILL,
                ts=start + timedelta(minutes=m),
                anomaly_score=6.0,
                top_contributors=("vibration_rms",),
            ),
            BEARING,
        )
        for m in range(minutes)
    ]


async def test_a_repaired_machine_s_held_back_alarm_is_listed_with_why_and_its_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = load_demo_settings(tmp_path, check_secrets=False).maintenance
    maintenance = MaintenanceSettings()  # the product's tuning: 1 h of evidence, 6 h settling
    assert (maintenance.alerts_file, maintenance.orders_file) == (
        demo.alerts_file,
        demo.orders_file,
    )
    now = datetime.now(UTC)
    clock = ManualClock(now)
    store = AlertStore(tmp_path / maintenance.alerts_file)
    orders = SqliteOrderBook(tmp_path / maintenance.orders_file, clock=clock)
    service = await AlertService.start(store, orders, maintenance, clock=clock)
    try:
        await service.replaced(MILL, BEARING, now)
        hold_min = int(maintenance.alerting.anomaly_hold_s // 60)
        assert await service.observe(anomalous(now + timedelta(minutes=1), hold_min + 5)) == []
    finally:
        service.close()
        await orders.close()

    command = ["alerts", "--suppressed", "--data-dir", str(tmp_path)]
    assert await asyncio.to_thread(main, [*command, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(h["machine"], h["reason"], h["level"]) for h in report["held_back"]] == [
        (MILL, "settling", "alarm")
    ]
    window_days = demo.alerting.budget_window_s / 86_400  # the command reads the demo's
    assert report["budgets"] == [
        {"machine": MILL, "raised": 0, "budget": 2, "held_back": 1, "window_days": window_days}
    ]
    assert await asyncio.to_thread(main, command) == 0
    text = capsys.readouterr().out
    assert "mill-1: raised 0/2, held back 1" in text
    assert "Held back: settling after a repair or a model change until" in text
