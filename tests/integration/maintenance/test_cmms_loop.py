"""The planner's loop with a CMMS: alert → work request → closure with codes → retrain."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs

from connectors import SqliteHistorian
from maintenance.alert_store import AlertStore
from maintenance.alerts import AlertService
from maintenance.cmms import ClosureReceiver, WorkRequestDesk
from maintenance.errors import TrainingDataError
from maintenance.fleet_training import (
    closure_labels,
    history_table,
    read_failures,
    retrain_if_better,
)
from maintenance.model_store import ModelStore
from maintenance.notify import WebhookNotifier, sign
from maintenance.orders import SqliteOrderBook
from maintenance.scoring_groups import load_group_models, machine_groups
from maintenance.work_request_store import WorkRequestStore
from maintenance.work_requests import WorkRequestStatus
from models import ManualClock, Reading
from models.readings import good
from tests.integration.maintenance.webhook_kit import SECRET, running_receiver
from tests.unit.maintenance.alerts.policy_kit import AFTER_ORDER, BEARING, MILL, SETTINGS, WEAR, at
from tests.unit.maintenance.scoring.scoring_kit import OPTIONS, TAGS, machine, signals

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCHEMA = Path(__file__).resolve().parents[3] / "maintenance/schemas/work_request.schema.json"
CLOSURE_SECRET = b"closure-test-secret"
RUN_HOURS = (260, 240, 280, 250)
"""Four runs to failure of mill-1 in the historian; the failures table knows the first three."""


def post(url: str, document: dict[str, Any], secret: bytes | None) -> tuple[int, Any]:
    """POST JSON (signed with ``secret`` when given); the status and the JSON answer."""
    body = json.dumps(document).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Trustfloor-Signature"] = sign(secret, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), json.loads(error.read())


def runs_to_failure(last_failure: datetime) -> tuple[list[Reading], list[datetime]]:
    """Hourly readings of mill-1's four runs, the last failing at ``last_failure``."""
    rng = np.random.default_rng(5)
    start = last_failure - timedelta(hours=sum(RUN_HOURS))
    readings, failures, cursor = [], [], start
    for hours in RUN_HOURS:
        samples = signals(hours, rng)
        for index in range(hours):
            ts = cursor + timedelta(hours=index)
            readings += [
                good(MILL, tag, ts, float(samples[index, c])) for c, tag in enumerate(TAGS)
            ]
        cursor += timedelta(hours=hours)
        failures.append(cursor)
    return readings, failures


async def test_an_alert_becomes_a_work_request_whose_closure_labels_the_next_model(
    tmp_path: Path, one_thread: None
) -> None:
    clock = ManualClock(at(0))
    schema = Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    requests = WorkRequestStore(tmp_path / "work_requests.sqlite")
    alerts = AlertStore(tmp_path / "alerts.sqlite")
    orders = SqliteOrderBook(tmp_path / "orders.sqlite", clock=clock)
    with running_receiver() as cmms:
        outbox = WebhookNotifier(tmp_path / "cmms-queue.sqlite", cmms.url, SECRET, clock=clock)
        desk = WorkRequestDesk(requests, outbox, clock)
        service = await AlertService.start(
            alerts, orders, SETTINGS, clock=clock, work_requests=desk
        )
        changed = await service.observe(WEAR[:AFTER_ORDER])
        alert = changed[-1]
        assert alert.order_id  # the wear reached the order point: the part is ordered
        report = await outbox.deliver_due()
        await cmms.wait_for(3)
        await outbox.close()
    assert report.delivered == 3
    sent = [r.json() for r in cmms.delivered]
    events = ["work_request.opened", "work_request.updated", "work_request.updated"]
    assert [s["event"] for s in sent] == events  # opened, escalated, its part ordered
    assert all(r.signed for r in cmms.delivered)
    for message in sent:
        schema.validate(message["work_request"])
    opened, updated = sent[0]["work_request"], sent[-1]["work_request"]
    assert (opened["id"], opened["asset"], opened["status"]) == ("WR-000001", MILL, "OPEN")
    assert "RUL band" in opened["description"]
    assert "Top signals" in opened["description"]
    assert updated["priority"] == "HIGH"
    assert updated["spare_part_order"]["order_id"] == alert.order_id

    failed_at = at(60 * 60)
    receiver = ClosureReceiver(desk, CLOSURE_SECRET)
    receiver.start()
    try:
        url = f"{receiver.url}/work-requests/WR-000001/closure"
        closure = {
            "failure_mode": "VIB",
            "failure_mechanism": "2.4",
            "failure_cause": "3.4",
            "failed_at": failed_at.isoformat(),
            "part_serial": "SN-BH-0007",
            "closed_by": "technician",
        }
        unsigned = await asyncio.to_thread(post, url, closure, None)
        wrong_code = await asyncio.to_thread(
            post, url, {**closure, "failure_mechanism": "9.9"}, CLOSURE_SECRET
        )
        accepted = await asyncio.to_thread(post, url, closure, CLOSURE_SECRET)
        again = await asyncio.to_thread(post, url, closure, CLOSURE_SECRET)
    finally:
        receiver.stop()
    assert unsigned[0] == 401
    assert wrong_code[0] == 422
    assert "not an ISO 14224 failure mechanism code" in wrong_code[1]["error"]
    assert accepted[0] == again[0] == 200
    stored = requests.get("WR-000001")
    assert stored.status is WorkRequestStatus.CLOSED
    assert stored.closure is not None
    assert stored.closure.part_serial == "SN-BH-0007"
    labels = closure_labels(requests.closed())
    assert [(f.machine, f.component, f.failed_at) for f in labels] == [(MILL, BEARING, failed_at)]

    historian = SqliteHistorian(tmp_path / "telemetry.sqlite")
    readings, failure_times = runs_to_failure(failed_at)
    await historian.write(readings)
    csv = tmp_path / "failures.csv"
    csv.write_text(
        "machine,component,failed_at\n"
        + "".join(f"{MILL},{BEARING},{t.isoformat()}\n" for t in failure_times[:3])
    )
    store = ModelStore(tmp_path / "models")
    group = machine_groups([machine(MILL, TAGS)])[0]
    start = failure_times[0] - timedelta(hours=RUN_HOURS[0])
    try:
        table_alone = await history_table(
            historian, group.machines, read_failures(csv), start, 3600
        )
        labelled = [*read_failures(csv), *labels]
        table = await history_table(historian, group.machines, labelled, start, 3600)
    finally:
        await historian.close()
    with pytest.raises(TrainingDataError, match="too few"):
        retrain_if_better(table_alone, group.name, store, OPTIONS, lambda _: None)
    outcome = retrain_if_better(table, group.name, store, OPTIONS, lambda _: None)
    assert outcome.promoted
    assert outcome.report.units == 4  # the closure's run is the fourth
    assert table.frame["unit"].nunique() == 4
    models = load_group_models(store, group)
    assert models is not None
    assert models.rul is not None
    await orders.close()
    alerts.close()
    requests.close()
