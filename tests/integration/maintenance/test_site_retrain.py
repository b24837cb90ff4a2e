"""The running site's loop: alert → work request at the CMMS → closures → scheduled retrain → the
running scoring takes the model the closures' labels made possible, without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from asyncua import ua

from config import Settings
from connectors import SqliteHistorian
from maintenance.fleet_training import TrainingOptions
from maintenance.rul import RulSettings
from maintenance.work_requests import WorkRequestStatus
from models import Alert, HealthState, Reading
from models.readings import good
from opcua_server.cli.console import render_summary
from opcua_server.runtime.site import Site
from tests.fakes import FakeCertificateDesk, FakeOrderBook
from tests.integration.maintenance.test_cmms_loop import CLOSURE_SECRET, post
from tests.integration.maintenance.webhook_kit import SECRET, Receiver, running_receiver
from tests.support import (
    call_method,
    free_port,
    secure_client,
    site_settings,
    text,
    trusted_client_certificate,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

MILL = "mill-1"
BEARING = "spindle_bearing"
RUN_HOURS = (220, 200, 240, 210)
"""Four runs of mill-1 to a bearing failure, each closed by a work request."""
WEAR_HOURS = 120
"""Hours before each failure during which the signals drift."""
BASE = {"spindle_temp": 45.0, "vibration_rms": 2.0, "motor_current": 20.0, "spindle_speed": 12e3}
DRIFT = {"spindle_temp": 15.0, "vibration_rms": 6.0, "motor_current": 4.0, "spindle_speed": 0.0}
RETRAIN = TrainingOptions(
    sample_interval_s=3600.0,
    window=12,
    long_window=48,
    rul=RulSettings(cap=150.0, use_age=False, folds=3, max_iter=20, min_samples_leaf=20),
)
"""The site's retrain with small hyper-parameters (the test's history is small); three folds
and one held-out run: four labelled runs are the fewest it trains from."""
ENV = {"TRUSTFLOOR_CMMS_SECRET": CLOSURE_SECRET.decode(), "CMMS_HOOK_SECRET": SECRET.decode()}


def failure_times(end: datetime) -> list[datetime]:
    """When each run ends, the last at ``end``."""
    times, cursor = [], end - timedelta(hours=sum(RUN_HOURS))
    for hours in RUN_HOURS:
        cursor += timedelta(hours=hours)
        times.append(cursor)
    return times


def history(failures: list[datetime]) -> list[Reading]:
    """Hourly readings of mill-1's four tags over the runs that end at ``failures``."""
    rng = np.random.default_rng(11)
    readings = []
    for hours, failed_at in zip(RUN_HOURS, failures, strict=True):
        wear = np.clip((np.arange(hours) - (hours - WEAR_HOURS)) / WEAR_HOURS, 0.0, None) ** 2
        for tag, base in BASE.items():
            values = base * (1 + 0.01 * rng.normal(size=hours)) + DRIFT[tag] * wear
            readings += [
                good(MILL, tag, failed_at - timedelta(hours=hours - i), float(v))
                for i, v in enumerate(values)
            ]
    return readings


def settings_for(data_dir: Path, cmms: Receiver, receiver_port: int) -> Settings:
    """One mill (no printer) scored hourly; work requests POSTed to ``cmms``; closures received;
    the retrain scheduled every 1000 h (the test runs its turns itself)."""
    raw: dict[str, Any] = site_settings(data_dir, machines=1).model_dump(mode="json")
    raw["historian"]["raw_retention_s"] = 400 * 86_400.0
    raw["site"]["printers"] = []
    raw["maintenance"] |= {
        "scoring_interval_s": 3600.0,
        "cmms_webhook": {"url": cmms.url, "secret_env": "CMMS_HOOK_SECRET"},
        "cmms": {"receiver_port": receiver_port, "retrain_interval_h": 1000.0},
    }
    return Settings.model_validate(raw)


def alert(number: int, raised_at: datetime) -> Alert:
    return Alert(
        id=f"AL-{number:06d}",
        machine=MILL,
        component=BEARING,
        level=HealthState.ALARM,
        severity=800,
        summary="spindle bearing wearing",
        raised_at=raised_at,
        updated_at=raised_at,
        top_contributors=("vibration_rms", "spindle_temp"),
    )


class Running:
    def __init__(self, site: Site, cmms: Receiver, closures_url: str, failures: list[datetime]):
        self.site, self.cmms, self.closures_url, self.failures = site, cmms, closures_url, failures


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    data_dir = tmp_path_factory.mktemp("retrain-site")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    failures = failure_times(now - timedelta(hours=2))
    with running_receiver() as cmms:
        settings = settings_for(data_dir, cmms, free_port())
        historian = SqliteHistorian(data_dir / settings.historian.sqlite_file)
        await historian.write(history(failures))
        await historian.close()
        site = Site(
            settings,
            environ=ENV,
            orders=FakeOrderBook(),
            certificates=FakeCertificateDesk(),
            retrain_options=RETRAIN,
        )
        await site.start()
        await site.wait_connected()
        port = settings.maintenance.cmms.receiver_port
        try:
            yield Running(site, cmms, f"http://127.0.0.1:{port}/work-requests", failures)
        finally:
            await site.stop()


async def close_over_http(running: Running, request_id: str, failed_at: datetime) -> int:
    """The CMMS reports the technician's closure, signed, to the site's receiver."""
    closure = {
        "failure_mode": "VIB",
        "failure_mechanism": "2.4",
        "failure_cause": "3.4",
        "failed_at": failed_at.isoformat(),
        "part_serial": f"SN-{request_id}",
        "closed_by": "technician",
    }
    url = f"{running.closures_url}/{request_id}/closure"
    status, _ = await asyncio.to_thread(post, url, closure, CLOSURE_SECRET)
    return status


async def test_closures_retrain_the_running_site_which_scores_with_the_new_model(
    running: Running, one_thread: None, tmp_path: Path
) -> None:
    site, failures = running.site, running.failures
    assert site.scoring is not None
    assert site.retrainer is not None
    assert site.work_requests is not None
    assert site.jobs.schedule["retrain"] == 1000 * 3600.0
    group = site.scoring.groups[0].name
    assert site.scoring.models_of(group) is None  # no model yet: a baseline is being learnt

    for number, failed_at in enumerate(failures, start=1):
        raised = failed_at - timedelta(hours=60)
        await site.work_requests.alert_changed(alert(number, raised))
    await running.cmms.wait_for(len(failures))
    opened = [r.json()["work_request"] for r in running.cmms.delivered]
    assert [w["id"] for w in opened] == [f"WR-{n:06d}" for n in range(1, 5)]
    assert all(w["asset"] == MILL and w["status"] == "OPEN" for w in opened)

    for number, failed_at in enumerate(failures[:3], start=1):
        assert await close_over_http(running, f"WR-{number:06d}", failed_at) == 200
    too_few = await site.retrainer.tick()
    assert (too_few.labels, too_few.promoted, too_few.reloaded) == (3, (), ())
    assert site.scoring.models_of(group) is None

    server = site.server
    assert server is not None
    cert = trusted_client_certificate(server.pki.trusted, tmp_path, "retrain-client")
    async with await secure_client(server.endpoint, cert, "planner") as planner:
        args = [text("WR-000004"), text("VIB"), text("2.4"), text("3.4")]
        failed_at = ua.Variant(failures[3], ua.VariantType.DateTime)
        assert await call_method(planner, "Maintenance", "CloseWorkRequest", *args, failed_at)
    closed = site.work_requests.store.get("WR-000004")
    assert closed.status is WorkRequestStatus.CLOSED

    run = await site.retrainer.tick()
    assert (run.labels, run.promoted, run.reloaded) == (4, (group,), (group,))
    models = site.scoring.models_of(group)
    assert models is not None
    assert models.rul is not None  # the labelled runs trained a RUL model, scoring with it now
    metrics = {m.name: m.value for m in await site.collect_metrics()}
    assert metrics["trustfloor_retrains_total"] == 2
    assert metrics["trustfloor_models_replaced_total"] == 1
    summary = await site.summary()
    assert summary.last_retrain is not None
    assert f"replaced {group}" in summary.last_retrain
    assert f"replaced {group}" in render_summary(summary)
