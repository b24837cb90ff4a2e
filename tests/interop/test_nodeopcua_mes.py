"""node-opcua as the MES: browse the companion model, subscribe, call per role, read history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models import Reading
from opcua_server.runtime.site import Site
from tests.fakes import KNOWN_DESIGN, KNOWN_SERIAL, FakeOrderBook
from tests.support import NAMESPACE_URI, PASSWORDS, node_client_trusted, wait_for

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.interop]

MACHINERY = "http://opcfoundation.org/UA/Machinery/"
DI = "http://opcfoundation.org/UA/DI/"


@pytest.fixture(scope="module")
def node_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-pki-mes")


async def run(
    site: Site, pki: Path, ops: list[dict[str, Any]], user: str = "mes"
) -> list[dict[str, Any]]:
    assert site.server is not None
    request = {
        "endpoint": site.server.endpoint,
        "user": user,
        "password": PASSWORDS[user],
        "pkiDir": str(pki),
        "namespaceUri": NAMESPACE_URI,
        "ops": ops,
    }
    answer = await node_client_trusted(request, site.server.pki.root)
    assert answer["ok"] is True, answer
    results: list[dict[str, Any]] = answer["results"]
    return results


def create_order(user_role: str) -> dict[str, Any]:
    del user_role
    return {
        "op": "call",
        "objectId": "PrintOrders",
        "methodId": "PrintOrders/CreatePrintOrder",
        "args": [
            {"type": "String", "value": KNOWN_DESIGN},
            {"type": "UInt32", "value": 1},
            {"type": "String", "value": "node-opcua"},
        ],
    }


RECORD_INSPECTION = {
    "op": "call",
    "objectId": "Parts",
    "methodId": "Parts/RecordInspection",
    "args": [
        {"type": "String", "value": KNOWN_SERIAL},
        {"type": "String", "value": '{"visual": "ok"}'},
    ],
}


async def test_node_browses_the_machinery_model(site: Site, node_pki: Path) -> None:
    machines, serial = await run(
        site,
        node_pki,
        [
            {"op": "browsePath", "path": [[MACHINERY, "Machines"]]},
            {
                "op": "browsePath",
                "path": [
                    [MACHINERY, "Machines"],
                    [NAMESPACE_URI, "mill-1"],
                    [DI, "Identification"],
                    [DI, "SerialNumber"],
                ],
            },
        ],
    )
    assert machines["status"] == "Good"
    assert {"mill-1", "pump-1"} <= set(machines["children"])
    assert serial["value"] == "VMC850-0001"


async def test_node_finds_every_machine_and_printer_by_type(site: Site, node_pki: Path) -> None:
    (found,) = await run(site, node_pki, [{"op": "machinesByType"}])
    settings = site.settings.site
    assets = [*settings.machines, *settings.opcua_machines, *settings.printers]
    assert set(found["machines"]) == {asset.id for asset in assets}
    assert {"Manufacturer", "SerialNumber", "ProductInstanceUri"} <= set(
        found["identificationProperties"]
    )
    mill = found["machines"]["mill-1"]["identification"]
    assert (mill["Manufacturer"], mill["SerialNumber"]) == ("Demo Machine Works", "VMC850-0001")


async def test_node_stores_and_starts_a_job_order_through_the_isa95_receiver(
    site: Site, node_pki: Path
) -> None:
    orders = site.server.ports.orders if site.server is not None else None
    assert isinstance(orders, FakeOrderBook)
    before = set(orders.orders)
    store = {"op": "jobOrder", "method": "Store", "jobOrderId": "NODE-1"}
    stored, listed, started, unknown, after = await run(
        site,
        node_pki,
        [
            {**store, "design": KNOWN_DESIGN, "quantity": 2},
            {"op": "jobOrderList"},
            {"op": "jobOrder", "method": "Start", "jobOrderId": "NODE-1"},
            {"op": "jobOrder", "method": "Start", "jobOrderId": "NODE-unknown"},
            {"op": "jobOrderList"},
        ],
    )
    assert (stored["status"], stored["outputs"]) == ("Good", [1]), stored
    assert listed["states"]["NODE-1"] == "NotAllowedToStart"
    assert (started["status"], started["outputs"]) == ("Good", [1]), started
    assert (unknown["status"], unknown["outputs"]) == ("Uncertain", [2]), unknown
    assert after["states"]["NODE-1"] == "AllowedToStart"
    (new,) = set(orders.orders) - before
    assert (orders.orders[new].design_id, orders.orders[new].quantity) == (KNOWN_DESIGN, 2)


async def test_node_subscription_receives_live_changes(site: Site, node_pki: Path) -> None:
    (result,) = await run(
        site,
        node_pki,
        [
            {
                "op": "subscribe",
                "nodes": ["Machines/mill-1/spindle_temp", "Machines/pump-1/shaft_speed"],
                "durationMs": 2500,
            }
        ],
    )
    for changes in result["changes"].values():
        good = [c for c in changes if c["status"] == "Good"]
        assert len(good) >= 2, result


@pytest.mark.parametrize(
    ("user", "op", "expected"),
    [
        ("mes", create_order("mes"), "Good"),
        ("auditor", create_order("auditor"), "BadUserAccessDenied"),
        ("quality_engineer", RECORD_INSPECTION, "Good"),
        ("mes", RECORD_INSPECTION, "BadUserAccessDenied"),
        ("planner", RECORD_INSPECTION, "BadUserAccessDenied"),
    ],
)
async def test_node_method_calls_respect_roles(
    site: Site, node_pki: Path, user: str, op: dict[str, Any], expected: str
) -> None:
    (result,) = await run(site, node_pki, [op], user=user)
    assert result["status"] == expected, result
    if op["methodId"].endswith("CreatePrintOrder") and expected == "Good":
        assert result["outputs"][0].startswith("PO-")


async def held_readings(site: Site, machine: str, tag: str, count: int) -> None:
    """Until the site's historian holds ``count`` readings of ``machine/tag`` from the last
    minute (what the history requests below ask for)."""
    historian = site.historian
    assert historian is not None

    async def last_minute() -> list[Reading]:
        now = datetime.now(UTC)
        return await historian.query(machine, tag, now - timedelta(minutes=1), now)

    await wait_for(last_minute, lambda rows: len(rows) >= count)


async def test_node_reads_raw_and_processed_history(site: Site, node_pki: Path) -> None:
    await held_readings(site, "mill-1", "spindle_temp", 3)
    raw, average, count = await run(
        site,
        node_pki,
        [
            {"op": "historyRaw", "node": "Machines/mill-1/spindle_temp", "seconds": 300},
            {
                "op": "historyProcessed",
                "node": "Machines/mill-1/spindle_temp",
                "seconds": 60,
                "intervalMs": 20000,
                "aggregate": "Average",
            },
            {
                "op": "historyProcessed",
                "node": "Machines/mill-1/spindle_temp",
                "seconds": 60,
                "intervalMs": 20000,
                "aggregate": "Count",
            },
        ],
    )
    assert raw["status"] == "Good", raw
    assert len(raw["values"]) >= 3
    stamps = [v["ts"] for v in raw["values"]]
    assert stamps == sorted(stamps)
    assert average["status"] == "Good", average
    assert len(average["values"]) == 3
    good_averages = [v["value"] for v in average["values"] if v["status"].startswith("Good")]
    assert good_averages
    assert all(15.0 <= v <= 120.0 for v in good_averages)
    assert sum(v["value"] for v in count["values"]) >= 3


AM = "http://opcfoundation.org/UA/AdditiveManufacturing/"
MACHINE_TOOL = "http://opcfoundation.org/UA/MachineTool/"


async def test_node_reads_a_printer_the_opc_40540_way(site: Site, node_pki: Path) -> None:
    printer = site.settings.site.printers[0]
    machine = [[MACHINERY, "Machines"], [NAMESPACE_URI, printer.id]]
    technology, feedstock, run_info, counters = await run(
        site,
        node_pki,
        [
            {
                "op": "browsePath",
                "path": [*machine, [DI, "Identification"], [AM, "AMTechnologyIdentifier"]],
            },
            {
                "op": "browsePath",
                "path": [*machine, [MACHINE_TOOL, "Equipment"], [AM, "Feedstock"]],
            },
            {"op": "browsePath", "path": [*machine, [AM, "RunInfo"]]},
            {"op": "browsePath", "path": [*machine, [DI, "OperationCounters"]]},
        ],
    )
    assert technology["value"] == printer.am_technology == "PBF-LB/M"
    assert feedstock["children"] == ["Main"]
    assert {"Identifier", "State", "CurrentLayer", "LayersPlanned"} <= set(run_info["children"])
    assert counters["typeDefinition"].endswith(";i=1009"), counters
    assert {"OperationCycleCounter", "OperationDuration"} <= set(counters["children"])


async def test_node_cancels_a_job_order_and_is_told_what_a_printer_cannot_do(
    site: Site, node_pki: Path
) -> None:
    stored, cancelled, paused, listed = await run(
        site,
        node_pki,
        [
            {
                "op": "jobOrder",
                "method": "Store",
                "jobOrderId": "NODE-2",
                "design": KNOWN_DESIGN,
                "quantity": 1,
            },
            {"op": "jobOrder", "method": "Cancel", "jobOrderId": "NODE-2"},
            {"op": "jobOrder", "method": "Pause", "jobOrderId": "NODE-2"},
            {"op": "jobOrderList"},
        ],
    )
    assert (stored["status"], cancelled["status"], cancelled["outputs"]) == ("Good", "Good", [1])
    assert paused["status"] == "BadNotSupported", paused
    assert listed["states"]["NODE-2"] == "Aborted"


async def test_node_reads_device_health_and_closes_work_requests_by_method(
    site: Site, node_pki: Path
) -> None:
    health, unknown, untyped = await run(
        site,
        node_pki,
        [
            {
                "op": "browsePath",
                "path": [[MACHINERY, "Machines"], [NAMESPACE_URI, "mill-1"], [DI, "DeviceHealth"]],
            },
            close_work_request("WR-999999", {"type": "DateTime", "value": "2026-12-07T08:00:00Z"}),
            close_work_request("WR-999999", {"type": "String", "value": "2026-12-07T08:00:00Z"}),
        ],
        user="planner",
    )
    assert health["status"] == "Good"
    assert health["value"] in (0, 2, 4)  # NORMAL, CHECK_FUNCTION, MAINTENANCE_REQUIRED
    assert unknown["status"] == "BadNotFound"
    assert untyped["status"] == "BadTypeMismatch"


def close_work_request(request_id: str, failed_at: dict[str, Any]) -> dict[str, Any]:
    """CloseWorkRequest with ISO 14224 codes VIB / 2.4 (wear) / 3.4 (wear and tear)."""
    return {
        "op": "call",
        "objectId": "Maintenance",
        "methodId": "Maintenance/CloseWorkRequest",
        "args": [
            {"type": "String", "value": request_id},
            {"type": "String", "value": "VIB"},
            {"type": "String", "value": "2.4"},
            {"type": "String", "value": "3.4"},
            failed_at,
        ],
    }
