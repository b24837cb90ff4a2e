"""Alarms through node-opcua (an independent client) with SignAndEncrypt: refresh, ack, confirm."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from opcua_server.alarms import AlertInfo
from opcua_server.alarms.maintenance import (
    MaintenanceMethod,
    MaintenanceStage,
    PlannedMaintenance,
    ReplacedPart,
)
from opcua_server.model.namespaces import AMB
from tests.integration.opcua.alarm_kit import AlarmSite, running_alarm_site
from tests.support import PASSWORDS, REPO

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.interop]

PEER = REPO / "tests" / "peers" / "nodeopcua_alarms.mjs"
OnReady = Callable[[str], Awaitable[None]]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def alarm_site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AlarmSite]:
    async with running_alarm_site(tmp_path_factory.mktemp("alarms")) as running:
        yield running


@pytest.fixture(scope="module")
def node_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-pki")


async def _answer(process: asyncio.subprocess.Process, on_ready: OnReady) -> dict[str, Any]:
    """Serve the peer's {"ready": label} lines, return its final result line."""
    assert process.stdout is not None
    answer: dict[str, Any] = {}
    while line := await process.stdout.readline():
        if not line.startswith(b"{"):
            continue
        message = json.loads(line)
        if "ready" in message:
            await on_ready(message["ready"])
        else:
            answer = message
    return answer


async def run_peer(
    site: AlarmSite,
    pki: Path,
    user: str,
    steps: list[dict[str, Any]],
    on_ready: OnReady,
    extra_fields: Sequence[str] = (),
) -> dict[str, Any]:
    """Run the node-opcua alarm client through ``steps`` (selecting ``extra_fields`` too, named
    as node-opcua names them); its JSON result."""
    request = {
        "endpoint": site.endpoint,
        "user": user,
        "password": PASSWORDS[user],
        "pkiDir": str(pki),
        "steps": steps,
        "extraFields": list(extra_fields),
    }
    process = await asyncio.create_subprocess_exec(
        "node",
        str(PEER),
        json.dumps(request),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    errors = asyncio.create_task(process.stderr.read())
    try:
        async with asyncio.timeout(90):
            answer = await _answer(process, on_ready)
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        stderr = await errors
    assert answer, f"node-opcua alarm client printed no result: {stderr.decode()[-2000:]}"
    return answer


def alert(site: AlarmSite, machine: str, component: str, severity: int) -> AlertInfo:
    return AlertInfo(
        machine, component, severity, f"{component} worn", site.machines[machine], machine
    )


def of(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["conditionName"] == name]


async def test_node_client_refreshes_acknowledges_and_confirms_an_alarm(
    alarm_site: AlarmSite, node_pki: Path
) -> None:
    alarms = alarm_site.alarms
    await alarms.raise_alert(alert(alarm_site, "mill-1", "gearbox", 650))

    async def on_ready(label: str) -> None:
        if label == "subscribed":
            await alarms.raise_alert(alert(alarm_site, "pump-1", "impeller", 450))
        elif label == "confirmed":
            assert await alarms.clear("mill-1", "gearbox")

    steps: list[dict[str, Any]] = [
        {"refresh": True},
        {"ready": "subscribed"},
        {"await": "impeller"},
        {"call": "Acknowledge", "condition": "gearbox", "eventId": "latest", "comment": "seen"},
        {"call": "Acknowledge", "condition": "gearbox", "eventId": "latest"},
        {"call": "Acknowledge", "condition": "gearbox", "eventId": "stale"},
        {"call": "Confirm", "condition": "gearbox", "eventId": "latest", "comment": "fixed"},
        {"ready": "confirmed"},
        {"await": "gearbox"},
        {"refresh": True},
    ]
    answer = await run_peer(alarm_site, node_pki, "planner", steps, on_ready)
    assert answer["ok"] is True, answer
    assert [c["status"] for c in answer["calls"]] == [
        "Good",
        "BadConditionBranchAlreadyAcked",
        "BadEventIdUnknown",
        "Good",
    ]
    first, second = answer["refreshes"]
    assert first["status"] == "Good"
    assert first["started"] is True
    (refreshed,) = first["events"]
    assert refreshed["conditionId"] == f"ns={alarm_site.namespace};s=Alarms/mill-1/gearbox"
    assert refreshed["sourceNode"] == f"ns={alarm_site.namespace};s=Machines/mill-1"
    assert (refreshed["sourceName"], refreshed["severity"]) == ("mill-1", 650)
    assert refreshed["message"] == "gearbox worn"
    assert (refreshed["active"], refreshed["acked"], refreshed["confirmed"]) == (True, False, True)
    assert refreshed["retain"] is True
    alarm_type = alarms.alarm_type
    assert refreshed["eventType"] == alarm_type.to_string(), "our DI MaintenanceRequired subtype"
    gearbox = of(answer["events"], "gearbox")
    acked, confirmed, cleared = gearbox[-3:]
    assert (acked["acked"], acked["confirmed"], acked["comment"]) == (True, False, "seen")
    assert acked["clientUserId"] == "planner"
    assert (confirmed["confirmed"], confirmed["comment"]) == (True, "fixed")
    assert (cleared["active"], cleared["retain"]) == (False, False)
    assert len({e["eventId"] for e in gearbox}) == len(gearbox), "a fresh EventId per change"
    assert [e["conditionName"] for e in second["events"]] == ["impeller"]
    state = alarms.condition("mill-1", "gearbox")
    assert state is not None
    assert not state.retain


async def test_node_client_as_mes_may_acknowledge_but_not_confirm(
    alarm_site: AlarmSite, node_pki: Path
) -> None:
    await alarm_site.alarms.raise_alert(alert(alarm_site, "mill-1", "spindle", 900))

    async def nothing(label: str) -> None:
        return None

    steps: list[dict[str, Any]] = [
        {"refresh": True},
        {"call": "Acknowledge", "condition": "spindle", "eventId": "latest", "comment": "mes"},
        {"call": "Confirm", "condition": "spindle", "eventId": "latest", "comment": "mes"},
    ]
    answer = await run_peer(alarm_site, node_pki, "mes", steps, nothing)
    assert answer["ok"] is True, answer
    assert [c["status"] for c in answer["calls"]] == ["Good", "BadUserAccessDenied"]
    assert of(answer["events"], "spindle")[-1]["clientUserId"] == "mes"
    state = alarm_site.alarms.condition("mill-1", "spindle")
    assert state is not None
    assert (state.acked, state.confirmed) == (True, False)


async def test_node_client_selects_the_amb_maintenance_fields_by_their_browse_paths(
    alarm_site: AlarmSite, node_pki: Path
) -> None:
    alarms = alarm_site.alarms
    amb = (await alarm_site.server.get_namespace_array()).index(AMB)
    due = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    plan = PlannedMaintenance(
        MaintenanceStage.PLANNED, planned_date=due, method=MaintenanceMethod.LOCAL
    )
    fields = [
        f"{amb}:PlannedDate",
        f"{amb}:MaintenanceMethod",
        f"{amb}:MaintenanceState.CurrentState",
        f"{amb}:MaintenanceState.CurrentState.Id",
        f"{amb}:EstimatedDowntime",
        f"{amb}:PartsOfAssetReplaced",
    ]

    async def on_ready(label: str) -> None:
        if label == "subscribed":
            worn = alert(alarm_site, "pump-1", "seal", 500)
            await alarms.raise_alert(replace(worn, maintenance=plan))
        elif label == "planned":
            fitted = replace(
                plan, stage=MaintenanceStage.FINISHED, parts_replaced=(ReplacedPart("SN-S-1"),)
            )
            assert await alarms.plan_maintenance("pump-1", "seal", fitted)

    steps: list[dict[str, Any]] = [
        {"ready": "subscribed"},
        {"await": "seal"},
        {"ready": "planned"},
        {"await": "seal"},
    ]
    answer = await run_peer(alarm_site, node_pki, "planner", steps, on_ready, fields)
    assert answer["ok"] is True, answer
    raised, finished = (event["extra"] for event in of(answer["events"], "seal"))
    assert raised[f"{amb}:PlannedDate"] == "2026-12-03T14:00:00.000Z"
    assert raised[f"{amb}:MaintenanceMethod"] == 0
    assert raised[f"{amb}:MaintenanceState.CurrentState"] == "Planned"
    assert raised[f"{amb}:MaintenanceState.CurrentState.Id"] == f"ns={amb};i=5006"
    assert raised[f"{amb}:EstimatedDowntime"] is None
    assert finished[f"{amb}:MaintenanceState.CurrentState"] == "Finished"
    assert finished[f"{amb}:MaintenanceState.CurrentState.Id"] == f"ns={amb};i=5008"
    assert raised[f"{amb}:PartsOfAssetReplaced"] is None
    (part,) = finished[f"{amb}:PartsOfAssetReplaced"]
    assert part == {"name": "SN-S-1", "nodeId": "ns=0;i=0"}, "decoded from the AMB type"
