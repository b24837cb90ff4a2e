"""The site's CMMS link: its work-request store, and the closure receiver only with a secret."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from config import (
    CmmsSettings,
    MaintenanceSettings,
    Settings,
    WebhookSettings,
    load_demo_settings,
)
from maintenance import ClosureSecretError, WorkRequestStore
from maintenance.work_requests import from_alert
from models import Alert, HealthState, ManualClock
from opcua_server.cli.main import main
from opcua_server.cli.maintenance import closed_work_request_labels
from opcua_server.runtime.cmms import start_cmms
from tests.unit.maintenance.alerts.policy_kit import at

pytestmark = pytest.mark.asyncio(loop_scope="session")


def settings_with_receiver() -> Settings:
    cmms = CmmsSettings(receiver_port=0)
    return Settings(maintenance=MaintenanceSettings(cmms=cmms))


def status_of_unsigned_post(url: str) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code)


async def test_the_receiver_needs_the_shared_secret(tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        with pytest.raises(ClosureSecretError, match="TRUSTFLOOR_CMMS_SECRET"):
            await start_cmms(settings_with_receiver(), tmp_path, {}, ManualClock(at(0)), [], stack)


async def test_the_receiver_listens_on_loopback_and_refuses_unsigned_closures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="opcua_server.runtime.cmms")
    environ = {"TRUSTFLOOR_CMMS_SECRET": "s3cret"}
    async with contextlib.AsyncExitStack() as stack:
        desk = await start_cmms(
            settings_with_receiver(), tmp_path, environ, ManualClock(at(0)), [], stack
        )
        assert desk.store.all() == []
        line = next(r.getMessage() for r in caplog.records if "closures from the CMMS" in r.message)
        url = line.rsplit(" ", 1)[-1] + "WR-000001/closure"
        assert url.startswith("http://127.0.0.1:")
        assert await asyncio.to_thread(status_of_unsigned_post, url) == 401


async def test_maintenance_close_records_the_codes_that_train_then_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_demo_settings(tmp_path, check_secrets=False)
    store = WorkRequestStore(tmp_path / settings.maintenance.cmms.work_requests_file)
    alert = Alert(
        id="AL-000003",
        machine="mill-1",
        component="spindle_bearing",
        level=HealthState.ALARM,
        severity=800,
        raised_at=at(0),
        updated_at=at(0),
    )
    store.add(from_alert(alert, at(0)))
    store.close()
    command = ["maintenance", "close", "WR-000003", "--failure-mode", "VIB", "--mechanism"]
    command += ["2.4", "--cause", "3.4", "--failed-at", "2026-11-23T10:00:00+00:00"]
    command += ["--part-serial", "SN-9", "--data-dir", str(tmp_path)]
    assert await asyncio.to_thread(main, command) == 0
    assert "WR-000003 CLOSED: VIB / 2.4 / 3.4" in capsys.readouterr().out
    labels = closed_work_request_labels(settings)  # what `trustfloor train` labels runs with
    assert [(f.machine, f.failed_at.isoformat()) for f in labels] == [
        ("mill-1", "2026-11-23T10:00:00+00:00")
    ]
    bad = [*command[:6], "7.7", *command[7:]]
    assert await asyncio.to_thread(main, bad) == 1
    assert "not an ISO 14224 failure mechanism code" in capsys.readouterr().err


async def test_work_requests_are_spooled_apart_from_the_planner_notifications(
    tmp_path: Path,
) -> None:
    hook = WebhookSettings(url="http://127.0.0.1:9/cmms", secret_env="CMMS_HOOK_SECRET")
    settings = Settings(maintenance=MaintenanceSettings(webhook=hook, cmms_webhook=hook))
    background: list[asyncio.Task[None]] = []
    async with contextlib.AsyncExitStack() as stack:
        environ = {"CMMS_HOOK_SECRET": "s"}
        await start_cmms(settings, tmp_path, environ, ManualClock(at(0)), background, stack)
        assert (tmp_path / "queue" / f"cmms-{hook.spool_file}").exists()
        assert not (tmp_path / "queue" / hook.spool_file).exists()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
