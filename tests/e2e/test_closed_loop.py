"""The closed loop as the MES sees it: alarm, acknowledgement, print order, certified parts."""

# One demo site runs the whole loop by itself (demo_loop): mill-1's spindle bearing has used
# most of its life, the machine type's models are trained on simulated histories meanwhile, the
# alert policy orders the spare part, the printer prints it, the ledger certifies and anchors it
# and the demo technician fits it. A real asyncua client plays the MES throughout.

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.common.events import get_filter_from_event_type

from config import Settings, load_demo_settings
from ledger.bundle import read_bundle
from ledger.verify import verify_offline
from models import AlertState
from opcua_server.runtime.site import Site
from tests.integration.opcua.alarm_kit import EventCollector, acknowledge
from tests.support import (
    NAMESPACE_URI,
    call_method,
    make_client_certificate,
    node_client_trusted,
    secure_client,
    text,
    wait_for,
    wait_until,
)

# The alarm may wait for the demo to train its models (up to 240 s on a busy machine).
pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(420)]

PASSWORD = "loop-demo-pass"
WORN, HEALTHY = "mill-1", "mill-4"
COMPONENT = "spindle_bearing"
DESIGN = "spindle-bearing-housing"
ALARM_TYPE = ua.NodeId(ua.ObjectIds.OffNormalAlarmType)
ORDER_IN_MESSAGE = re.compile(r"Print order (PO-\d+) raised")


@dataclass
class LoopSite:
    site: Site
    failure_at: datetime
    """When mill-1's worn bearing would fail if nobody fitted a new one (simulator's truth)."""


def loop_settings(data_dir: Path) -> Settings:
    """The demo site cut down to two mills (one worn, one healthy) and one printer."""
    settings = load_demo_settings(data_dir, check_secrets=False)
    machines = tuple(m for m in settings.site.machines if m.id in (WORN, HEALTHY))
    worn = machines[0].components[0].model_copy(update={"initial_wear": 0.75})
    machines = (machines[0].model_copy(update={"components": (worn,)}), machines[1])
    site = settings.site.model_copy(
        update={"machines": machines, "printers": settings.site.printers[:1]}
    )
    server = settings.server.model_copy(update={"port": 0, "metrics_port": 0})
    ledger = settings.ledger.model_copy(update={"batch_max_age_s": 1})
    return settings.model_copy(update={"site": site, "server": server, "ledger": ledger})


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def loop(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LoopSite]:
    settings = loop_settings(tmp_path_factory.mktemp("loop") / "var")
    environ = {"TRUSTFLOOR_DEMO_PASSWORD": PASSWORD}
    site = Site(settings, environ=environ, demo_designs=True, excursion_every=2, demo_loop=True)
    await site.start()
    assert site.simulation is not None
    failure_at = site.simulation.failure_time(WORN, COMPONENT)
    assert failure_at is not None
    await site.wait_connected()
    yield LoopSite(site, failure_at)
    await site.stop()


async def mes_client(site: Site, folder: Path) -> Client:
    assert site.server is not None
    cert = make_client_certificate(folder)
    return await secure_client(site.server.endpoint, cert, "mes", PASSWORD, timeout_s=15)


async def node_value(client: Client, node_id: str) -> str:
    ns = await client.get_namespace_index("urn:trustfloor:site")
    try:
        return str(await client.get_node(ua.NodeId(node_id, ns)).read_value())
    except ua.UaStatusCodeError:
        return ""


async def wait_for_value(client: Client, node_id: str, wanted: set[str], timeout_s: float) -> str:
    return await wait_for(
        lambda: node_value(client, node_id),
        lambda value: value in wanted,
        timeout_s=timeout_s,
        poll_s=0.3,
    )


async def alarm_filter(client: Client) -> ua.EventFilter:
    """The alarm type's fields plus its ConditionId (OPC 10000-9 §5.5.2: the NodeId attribute
    of the ConditionType with an empty browse path), which Acknowledge is called on."""
    evfilter = await get_filter_from_event_type([client.get_node(ALARM_TYPE)])
    condition_id = ua.SimpleAttributeOperand()
    condition_id.TypeDefinitionId = ua.NodeId(ua.ObjectIds.ConditionType)
    condition_id.BrowsePath = []
    condition_id.AttributeId = ua.AttributeIds.NodeId
    evfilter.SelectClauses.append(condition_id)
    return evfilter


async def alarm_with_order(events: EventCollector, timeout_s: float) -> dict[str, Any]:
    """The first alarm event of the worn mill whose message names its print order."""
    async with asyncio.timeout(timeout_s):
        while True:
            event = await events.next(timeout_s)
            message = event["Message"].Text or ""
            if event["SourceName"] == WORN and ORDER_IN_MESSAGE.search(message):
                return event


async def anchored_bundle(client: Client, serial: str, timeout_s: float = 60) -> str:
    bundle = await wait_for(
        lambda: call_method(client, "Parts", "GetProofBundle", text(serial)),
        lambda bundle: bool(json.loads(bundle)["certificate"].get("anchor")),
        timeout_s=timeout_s,
        poll_s=0.5,
    )
    return str(bundle)


async def test_predicted_failure_alarms_orders_prints_and_fits_the_part_in_time(
    loop: LoopSite, tmp_path: Path
) -> None:
    site = loop.site
    async with await mes_client(site, tmp_path / "mes") as client:
        subscription = await client.create_subscription(100, events := EventCollector())
        await subscription.subscribe_events(
            client.nodes.server, ALARM_TYPE, evfilter=await alarm_filter(client)
        )
        alarm = await alarm_with_order(events, timeout_s=240)
        status = await acknowledge(client, alarm["NodeId"], alarm["EventId"], "seen by MES")
        assert status == ua.StatusCodes.Good
        assert site.alerts is not None
        stored = site.alerts.store.open_alert(WORN, COMPONENT)
        assert stored is not None
        assert stored.state is AlertState.ACKNOWLEDGED
        assert stored.acknowledged_by == "mes"
        match = ORDER_IN_MESSAGE.search(alarm["Message"].Text)
        assert match is not None
        order_id = match.group(1)
        assert await node_value(client, f"PrintOrders/{order_id}/AlertId") == stored.id
        state = await wait_for_value(
            client, f"PrintOrders/{order_id}/State", {"certified", "rejected"}, 60
        )
        assert state == "certified"
        serial = f"{order_id}-01"
        assert await wait_for_value(client, f"Parts/{serial}/Verdict", {"pass", "fail"}, 10)
        passport = f"Parts/{serial}/DigitalProductPassport"
        assert await node_value(client, passport) == f"urn:trustfloor:part:{serial}"
        assert await node_value(client, f"{passport}/Granularity") == "item"
        assert await wait_for_value(client, f"{passport}/Status", {"active"}, 10) == "active"
        bundle = await anchored_bundle(client, serial)
        assert site.ledger is not None
        offline = verify_offline(read_bundle(bundle), trust=site.ledger.issuer_trust)
        assert offline.valid, offline.reasons
        valid, reason = await call_method(client, "Parts", "VerifyCertificate", text(bundle))
        assert valid is True, reason
        assert "verdict pass" in reason
    await assert_fitted_in_time(loop, order_id)


async def assert_fitted_in_time(loop: LoopSite, order_id: str) -> None:
    """One alert and one order for the worn mill, ordered a lead time ahead, fitted before."""
    site = loop.site
    assert site.alerts is not None
    assert site.order_book is not None
    assert site.technician is not None
    repairs = site.technician.repairs
    await wait_until(lambda: order_id in repairs.fitted_orders, timeout_s=60, poll_s=0.5)
    assert site.technician.repairs.before_failure == 1
    assert site.technician.repairs.unplanned == 0
    alerts = [a for a in site.alerts.store.recent() if a.machine == WORN]
    assert len(alerts) == 1
    assert alerts[0].state is AlertState.CLEARED
    order = await site.order_book.get_order(order_id)
    orders = [o for o in await site.order_book.list_orders() if o.alert_id]
    assert [o.id for o in orders] == [order_id], "exactly one order, raised by the alert"
    assert alerts[0].lead_time_h is not None
    assert site.simulation is not None
    lead = timedelta(hours=alerts[0].lead_time_h / site.simulation.timebase.compression)
    assert order.created_at + lead <= loop.failure_at, "the part was ordered in time"
    assert not [a for a in site.alerts.store.recent() if a.machine == HEALTHY]


async def test_a_failed_piece_is_scrapped_with_its_reasons_and_printed_again(
    loop: LoopSite, tmp_path: Path
) -> None:
    async with await mes_client(loop.site, tmp_path / "mes") as client:
        quantity = ua.Variant(1, ua.VariantType.UInt32)
        order_id = await call_method(
            client, "PrintOrders", "CreatePrintOrder", text(DESIGN), quantity, text("e2e")
        )
        state = await wait_for_value(
            client, f"PrintOrders/{order_id}/State", {"certified", "rejected"}, 120
        )
        scrapped, reprinted = f"{order_id}-01", f"{order_id}-02"
        verdicts = [
            await wait_for_value(client, f"Parts/{serial}/Verdict", {"pass", "fail"}, 30)
            for serial in (scrapped, reprinted)
        ]
        assert verdicts == ["fail", "pass"], "every second job has an excursion injected"
        assert state == "certified", "the order is certified once it has a passing piece"
        failed = json.loads(await call_method(client, "Parts", "GetCertificate", text(scrapped)))
        assert failed["evidence"]["verdict"] == "fail"
        assert failed["evidence"]["parameters"]["LaserPower"]["excursions"]
        assert any(reason.startswith("LaserPower: outside") for reason in failed["reasons"])
        bundle = await anchored_bundle(client, scrapped)
        valid, reason = await call_method(client, "Parts", "VerifyCertificate", text(bundle))
        assert valid is True, "a failing verdict is still a genuine certificate"
        assert "verdict fail" in reason
        assert await wait_for_value(client, f"Designs/{DESIGN}/PartsProduced", {"3"}, 30) == "3"


async def test_an_isa95_job_order_from_a_node_opcua_mes_prints_certified_parts(
    loop: LoopSite, tmp_path: Path
) -> None:
    """node-opcua finds the ISA95JobOrderReceiverObjectType by its type and StoreAndStarts a job
    order; the print flow prints and certifies it, and the job order ends."""
    site = loop.site
    assert site.server is not None
    assert site.server.job_orders is not None
    job_order = {"op": "jobOrder", "method": "StoreAndStart", "jobOrderId": "MES-E2E-1"}
    request = {
        "endpoint": site.server.endpoint,
        "user": "mes",
        "password": PASSWORD,
        "pkiDir": str(tmp_path / "node-pki"),
        "namespaceUri": NAMESPACE_URI,
        "ops": [{**job_order, "design": DESIGN, "quantity": 1}],
    }
    answer = await node_client_trusted(request, site.server.pki.root)
    assert answer["ok"] is True, answer
    assert answer["results"][0]["outputs"] == [1], answer
    (held,) = [j for j in site.server.job_orders.job_orders() if j.data.JobOrderID == "MES-E2E-1"]
    async with await mes_client(site, tmp_path / "mes") as client:
        state = await wait_for_value(
            client, f"PrintOrders/{held.order_id}/State", {"certified", "rejected"}, 120
        )
    assert state == "certified"
    listed = await node_client_trusted(
        {**request, "ops": [{"op": "jobOrderList"}]}, site.server.pki.root
    )
    assert listed["results"][0]["states"]["MES-E2E-1"] == "Ended"
