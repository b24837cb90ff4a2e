"""The OPC UA ``Trace`` method through a real encrypted client: the parts a lot names."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import ua
from asyncua.ua.uaerrors import BadInvalidArgument, BadUserAccessDenied

from ledger import LedgerStore, TraceCriteria, recall
from maintenance import AlertStore, SqliteOrderBook
from models.timebase import ManualClock
from opcua_server.runtime.aftersales import Aftersales, alert_lookup
from opcua_server.runtime.recalls import RecallAnnouncer, open_recall_office
from opcua_server.server import ServerPorts, TrustfloorServer
from tests.integration.aftersales.kit import LOT_A, LOT_B, Floor, build_floor
from tests.integration.ledger.ledger_chainkit import NO_ENV
from tests.integration.opcua.alarm_kit import EventCollector
from tests.support import call_method, secure_client, site_settings, trusted_client_certificate
from tests.unit.ledger.ledgerkit import T0

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def floor(tmp_path_factory: pytest.TempPathFactory) -> Floor:
    return await build_floor(tmp_path_factory.mktemp("floor"))


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def server(
    floor: Floor, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TrustfloorServer]:
    settings = floor.settings
    ledger = LedgerStore(floor.data_dir / settings.ledger.sqlite_file)
    alerts = AlertStore(floor.data_dir / settings.maintenance.alerts_file)
    orders = SqliteOrderBook(floor.data_dir / settings.maintenance.orders_file)
    tracer = Aftersales(ledger, orders, alert_lookup(alerts))
    running = TrustfloorServer(
        site_settings(tmp_path_factory.mktemp("server"), machines=1),
        ports=ServerPorts(tracer=tracer),
    )
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
        await orders.close()
        alerts.close()
        ledger.close()


@pytest.fixture(scope="module")
def client_cert(
    server: TrustfloorServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    return trusted_client_certificate(
        server.pki.trusted, tmp_path_factory.mktemp("client"), "trace-test-client"
    )


def criteria(**named: object) -> ua.Variant:
    return ua.Variant(json.dumps(named), ua.VariantType.String)


async def test_a_quality_engineer_traces_a_lot_over_opc_ua(
    server: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(server.endpoint, client_cert, "quality_engineer") as client:
        answer = await call_method(client, "Parts", "Trace", criteria(lot=LOT_A, upstream=True))
    result = json.loads(answer)
    assert [p["serial"] for p in result["parts"]] == ["P-A1", "P-A2"]
    assert result["parts"][0]["fitted"]["machine"] == "mill-1"
    assert result["parts"][0]["upstream"]["material_lot"] == LOT_A
    assert len(result["open_orders"]) == 1


async def test_a_trace_naming_nothing_or_by_an_operator_is_refused(
    server: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(server.endpoint, client_cert, "mes") as mes:
        with pytest.raises(BadInvalidArgument):
            await call_method(mes, "Parts", "Trace", criteria(until="2026-11-04T00:00Z"))
        with pytest.raises(BadInvalidArgument):
            await call_method(mes, "Parts", "Trace", criteria(colour="red"))
    async with await secure_client(server.endpoint, client_cert, "operator") as operator:
        with pytest.raises(BadUserAccessDenied):
            await call_method(operator, "Parts", "Trace", criteria(lot=LOT_A))


async def test_a_recall_opened_from_the_command_line_reaches_the_mes_as_an_event(
    floor: Floor, server: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(server.endpoint, client_cert, "mes") as mes:
        collector = EventCollector()
        subscription = await mes.create_subscription(50, collector)
        await subscription.subscribe_events(mes.nodes.server)
        async with open_recall_office(floor.settings, NO_ENV, ManualClock(T0)) as office:
            await office.open_campaign(
                TraceCriteria(lot=LOT_B),
                reason="porosity in the CT scan",
                disposition=recall.Disposition.SCRAP,
                revoke=False,
                opened_by="qe-anna",
            )
        announcer = RecallAnnouncer.open(floor.data_dir, server.ua_server, ManualClock(T0))
        try:
            assert await announcer.tick() == 1
            assert await announcer.tick() == 0  # once only
        finally:
            announcer.close()
        event = await collector.next()
        while event["SourceName"] != "Recalls":
            event = await collector.next()
    assert event["Message"].Text == (
        "recall RC-0001 opened: 2 part(s) suspended, disposition scrap: porosity in the CT scan"
    )
    assert event["Severity"] == 900
