"""The MES view through a real asyncua client with SignAndEncrypt: model, roles, methods, audit."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from asyncua.common.node import Node

from models import Design, HealthScore, HealthState
from opcua_server.alarms import AlertInfo
from opcua_server.model.units import unit_id
from opcua_server.runtime.site import Site
from tests.fakes import KNOWN_DESIGN, KNOWN_SERIAL, FakeOrderBook
from tests.support import PASSWORDS, call_method, secure_client, text, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

MACHINERY = "http://opcfoundation.org/UA/Machinery/"
DI = "http://opcfoundation.org/UA/DI/"
SITE = "urn:trustfloor:site"

ROLES = list(PASSWORDS)
ALLOWED = {
    "CreatePrintOrder": {"mes", "planner", "admin"},
    "CancelPrintOrder": {"mes", "planner", "admin"},
    "GetCertificate": set(ROLES),
    "GetProofBundle": set(ROLES),
    "VerifyCertificate": set(ROLES),
    "RecordInspection": {"quality_engineer"},
    "RevokeCertificate": {"quality_engineer"},
}


@asynccontextmanager
async def session(site: Site, cert: tuple[Path, Path], user: str = "mes") -> AsyncIterator[Client]:
    assert site.server is not None
    client = await secure_client(site.server.endpoint, cert, user)
    async with client:
        yield client


async def ns(client: Client, uri: str = SITE) -> int:
    return int(await client.get_namespace_index(uri))


def arguments_for(method: str, order_id: str) -> list[ua.Variant]:
    return {
        "CreatePrintOrder": [
            text(KNOWN_DESIGN),
            ua.Variant(2, ua.VariantType.UInt32),
            text("test"),
        ],
        "CancelPrintOrder": [text(order_id)],
        "GetCertificate": [text(KNOWN_SERIAL)],
        "GetProofBundle": [text(KNOWN_SERIAL)],
        "VerifyCertificate": [text(json.dumps({"certificate": {"serial": KNOWN_SERIAL}}))],
        "RecordInspection": [text(KNOWN_SERIAL), text('{"ct_scan": "no porosity"}')],
        "RevokeCertificate": [text(KNOWN_SERIAL), text("supplier recall")],
    }[method]


async def machine_node(client: Client, machine: str = "mill-1") -> Node:
    machines = await client.nodes.objects.get_child([f"{await ns(client, MACHINERY)}:Machines"])
    return await machines.get_child([f"{await ns(client)}:{machine}"])


async def test_machine_model_follows_machinery_and_di(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    async with session(site, trusted_cert) as client:
        di, machinery = await ns(client, DI), await ns(client, MACHINERY)
        mill = await machine_node(client)
        assert (await mill.read_display_name()).Text == "5-axis milling centre 1"
        ident = await mill.get_child([f"{di}:Identification"])
        values = {
            name: await (await ident.get_child([f"{di}:{name}"])).read_value()
            for name in ("Manufacturer", "Model", "SerialNumber", "ProductInstanceUri")
        }
        assert values["Manufacturer"].Text == "Demo Machine Works"
        assert values["Model"].Text == "VMC-850"
        assert values["SerialNumber"] == "VMC850-0001"
        assert values["ProductInstanceUri"].startswith("urn:trustfloor:machine:")
        state = await mill.get_child([f"{machinery}:MachineryItemState", "0:CurrentState"])
        await wait_for(
            state.read_value, lambda value: value.Text == "Executing", timeout_s=20, poll_s=0.2
        )


async def test_telemetry_is_analog_items_with_units_and_range(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    async with session(site, trusted_cert) as client:
        temp = await (await machine_node(client)).get_child([f"{await ns(client)}:spindle_temp"])
        assert (await temp.read_type_definition()) == ua.NodeId(ua.ObjectIds.AnalogItemType)
        units = await (await temp.get_child(["0:EngineeringUnits"])).read_value()
        assert units.UnitId == unit_id("CEL")
        assert units.DisplayName.Text == "Cel"
        eu_range = await (await temp.get_child(["0:EURange"])).read_value()
        assert (eu_range.Low, eu_range.High) == (15.0, 120.0)
        access = await temp.read_attribute(ua.AttributeIds.AccessLevel)
        assert access.Value.Value & ua.AccessLevel.HistoryRead.mask


async def test_health_object_shows_the_latest_score(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    assert site.server.address_space is not None
    score = HealthScore(
        machine="mill-1",
        ts=datetime.now(UTC),
        anomaly_score=0.82,
        rul=120.0,
        rul_low=90.0,
        rul_high=150.0,
        state=HealthState.WARNING,
        top_contributors=("vibration_rms", "spindle_temp"),
        model_version="rul-hgb-3",
    )
    await site.server.address_space.apply_health(score)
    async with session(site, trusted_cert) as client:
        health = await (await machine_node(client)).get_child([f"{await ns(client)}:Health"])

        async def read(name: str) -> Any:
            return await (await health.get_child([f"{await ns(client)}:{name}"])).read_value()

        assert await read("AnomalyScore") == pytest.approx(0.82)
        assert (await read("RemainingUsefulLifeLow"), await read("RemainingUsefulLifeHigh")) == (
            90.0,
            150.0,
        )
        assert await read("HealthState") == "warning"
        assert await read("TopContributors") == ["vibration_rms", "spindle_temp"]


async def test_design_counter_carries_the_licensed_limit(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    assert site.server.production is not None
    design = Design(
        id="bearing-housing", dossier_hash="ab" * 32, licensed_quantity=50, parts_produced=3
    )
    await site.server.production.apply_design(design)
    await site.server.production.apply_design(
        design.model_copy(update={"parts_produced": 4, "licensed_quantity": 60})
    )
    async with session(site, trusted_cert) as client:
        site_ns = await ns(client)
        produced = client.get_node(ua.NodeId("Designs/bearing-housing/PartsProduced", site_ns))
        assert await produced.read_value() == 4
        assert await (await produced.get_child(["0:LimitValue"])).read_value() == 60
        dossier = client.get_node(ua.NodeId("Designs/bearing-housing/DossierHash", site_ns))
        assert await dossier.read_value() == "ab" * 32


@pytest.mark.parametrize("role", ROLES)
async def test_each_method_is_allowed_or_refused_by_role(
    site: Site, trusted_cert: tuple[Path, Path], role: str
) -> None:
    async with session(site, trusted_cert, role) as client:
        for method, allowed in ALLOWED.items():
            order_id = ""
            if method == "CancelPrintOrder":
                async with session(site, trusted_cert, "mes") as mes:
                    order_id = await call_method(
                        mes,
                        "PrintOrders",
                        "CreatePrintOrder",
                        *arguments_for("CreatePrintOrder", ""),
                    )
            folder = "PrintOrders" if "Order" in method else "Parts"
            if role in allowed:
                await call_method(client, folder, method, *arguments_for(method, order_id))
            else:
                with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                    await call_method(client, folder, method, *arguments_for(method, order_id))


async def test_created_order_appears_as_an_isa95_job_order_and_cancels(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    async with session(site, trusted_cert, "planner") as client:
        order_id = await call_method(
            client, "PrintOrders", "CreatePrintOrder", *arguments_for("CreatePrintOrder", "")
        )
        site_ns = await ns(client)
        state = client.get_node(ua.NodeId(f"PrintOrders/{order_id}/JobState", site_ns))
        assert await state.read_value() == "AllowedToStart"
        assert (
            await client.get_node(
                ua.NodeId(f"PrintOrders/{order_id}/RequestedBy", site_ns)
            ).read_value()
            == "planner"
        )
        assert (
            await call_method(client, "PrintOrders", "CancelPrintOrder", text(order_id))
            == "cancelled"
        )
        assert await state.read_value() == "Aborted"
        with pytest.raises(ua.uaerrors.BadInvalidState):
            await call_method(client, "PrintOrders", "CancelPrintOrder", text(order_id))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            [text(KNOWN_DESIGN), ua.Variant(2, ua.VariantType.UInt32)],
            ua.uaerrors.BadArgumentsMissing,
        ),
        ([text(KNOWN_DESIGN), text("two"), text("x")], ua.uaerrors.BadTypeMismatch),
        (
            [text(KNOWN_DESIGN), ua.Variant(0, ua.VariantType.UInt32), text("x")],
            ua.uaerrors.BadOutOfRange,
        ),
        (
            [text("   "), ua.Variant(1, ua.VariantType.UInt32), text("x")],
            ua.uaerrors.BadInvalidArgument,
        ),
        (
            [text("no-such-design"), ua.Variant(1, ua.VariantType.UInt32), text("x")],
            ua.uaerrors.BadNotFound,
        ),
        (
            [
                text(KNOWN_DESIGN),
                ua.Variant(1, ua.VariantType.UInt32),
                text("x"),
                text("LOT-1"),
                text("one too many"),
            ],
            ua.uaerrors.BadTooManyArguments,
        ),
    ],
)
async def test_bad_order_arguments_get_clear_status_codes(
    site: Site, trusted_cert: tuple[Path, Path], args: list[ua.Variant], error: type[Exception]
) -> None:
    async with session(site, trusted_cert) as client:
        with pytest.raises(error):
            await call_method(client, "PrintOrders", "CreatePrintOrder", *args)
        assert await call_method(
            client, "Parts", "GetCertificate", text(KNOWN_SERIAL)
        )  # still serving


async def test_certificate_methods_reach_the_desk(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    async with session(site, trusted_cert, "quality_engineer") as client:
        certificate = json.loads(
            await call_method(client, "Parts", "GetCertificate", text(KNOWN_SERIAL))
        )
        assert certificate["serial"] == KNOWN_SERIAL
        valid, reason = await call_method(
            client, "Parts", "VerifyCertificate", *arguments_for("VerifyCertificate", "")
        )
        assert valid is True
        assert "verified" in reason
        invalid, why = await call_method(
            client, "Parts", "VerifyCertificate", text('{"certificate": {"serial": "X"}}')
        )
        assert invalid is False
        assert "unknown certificate" in why
        with pytest.raises(ua.uaerrors.BadInvalidArgument):
            await call_method(client, "Parts", "VerifyCertificate", text("not json"))
        with pytest.raises(ua.uaerrors.BadInvalidArgument):
            await call_method(
                client, "Parts", "RecordInspection", text(KNOWN_SERIAL), text("[1, 2]")
            )
        with pytest.raises(ua.uaerrors.BadNotFound):
            await call_method(client, "Parts", "GetProofBundle", text("P-9999"))


async def test_writes_are_checked_per_node_and_role(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    async def asset_node(client: Client) -> Node:
        ident = await (await machine_node(client)).get_child(
            [f"{await ns(client, DI)}:Identification"]
        )
        return await ident.get_child([f"{await ns(client, DI)}:AssetId"])

    async with session(site, trusted_cert, "operator") as client:
        await (await asset_node(client)).write_value(
            ua.DataValue(ua.Variant("ASSET-7", ua.VariantType.String))
        )
        assert await (await asset_node(client)).read_value() == "ASSET-7"
    async with session(site, trusted_cert, "mes") as client:
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await (await asset_node(client)).write_value(
                ua.DataValue(ua.Variant("X", ua.VariantType.String))
            )
        temp = await (await machine_node(client)).get_child([f"{await ns(client)}:spindle_temp"])
        with pytest.raises(ua.UaStatusCodeError):
            await temp.write_value(ua.DataValue(ua.Variant(1.0, ua.VariantType.Double)))


async def test_every_call_and_write_is_audited(site: Site, trusted_cert: tuple[Path, Path]) -> None:
    assert site.server is not None
    async with session(site, trusted_cert, "auditor") as client:
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await call_method(
                client, "Parts", "RevokeCertificate", text(KNOWN_SERIAL), text("audit me")
            )
    entries = site.server.audit.entries()
    refused = [e for e in entries if e.user == "auditor" and e.target == "RevokeCertificate"]
    assert refused, "the refused call must be audited"
    assert refused[-1].role == "auditor"
    assert refused[-1].result.startswith("BadUserAccessDenied")
    assert "audit me" in refused[-1].detail
    assert datetime.fromisoformat(refused[-1].ts) <= datetime.now(UTC)
    async with session(site, trusted_cert, "admin") as client:
        ident = await (await machine_node(client)).get_child(
            [f"{await ns(client, DI)}:Identification"]
        )
        asset = await ident.get_child([f"{await ns(client, DI)}:AssetId"])
        await asset.write_value(ua.DataValue(ua.Variant("ASSET-AUDIT", ua.VariantType.String)))
    writes = [e for e in site.server.audit.entries() if e.action == "write" and e.user == "admin"]
    assert writes[-1].result == "Good"
    assert "ASSET-AUDIT" in writes[-1].detail
    assert writes[-1].target.endswith("Identification/AssetId")


async def test_history_raw_reads_come_from_the_historian(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    async with session(site, trusted_cert) as client:
        temp = await (await machine_node(client)).get_child([f"{await ns(client)}:spindle_temp"])
        values = await wait_for(
            lambda: temp.read_raw_history(numvalues=0),
            lambda values: len(values) >= 3,
            timeout_s=20,
            poll_s=0.3,
        )
        stamps = [v.SourceTimestamp for v in values]
        assert stamps == sorted(stamps)
        assert all(15.0 <= v.Value.Value <= 120.0 for v in values if v.StatusCode.is_good())
        first_two = await temp.read_raw_history(numvalues=2)
        assert len(first_two) == 2


async def test_diagnostics_and_metrics_report_sessions_and_ingest(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.metrics is not None
    async with session(site, trusted_cert) as client:
        enabled = client.get_node(ua.NodeId(ua.ObjectIds.Server_ServerDiagnostics_EnabledFlag))
        assert await enabled.read_value() is True
        sessions = client.get_node(
            ua.NodeId(
                ua.ObjectIds.Server_ServerDiagnostics_ServerDiagnosticsSummary_CurrentSessionCount
            )
        )
        await wait_for(sessions.read_value, lambda count: count >= 1, timeout_s=10, poll_s=0.3)
        url = f"http://127.0.0.1:{site.metrics.port}/metrics"
        body = await asyncio.to_thread(
            lambda: urllib.request.urlopen(url, timeout=5).read().decode()
        )
    metrics = {
        line.split()[0]: float(line.split()[1])
        for line in body.splitlines()
        if line and not line.startswith("#")
    }
    assert metrics["trustfloor_readings_total"] > 0
    assert metrics["trustfloor_opcua_sessions"] >= 1
    assert metrics["trustfloor_devices_up"] == 3  # two machines and the simulated printer
    assert {
        "trustfloor_ingest_queue_depth",
        "trustfloor_alerts_active",
        "trustfloor_anchors_pending",
    } <= set(metrics)
    assert "# TYPE trustfloor_readings_total counter" in body


async def test_alarms_and_order_events_reach_event_history_on_the_site(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    assert site.server.alarms is not None
    assert site.server.namespaces is not None
    machine_id = ua.NodeId("Machines/pump-1", site.server.namespaces.site)
    started = datetime.now(UTC)
    await site.server.alarms.raise_alert(
        AlertInfo("pump-1", "bearing", 700, "bearing RUL below lead time", machine_id, "pump-1")
    )
    async with session(site, trusted_cert, "planner") as client:
        order = arguments_for("CreatePrintOrder", "")
        await call_method(client, "PrintOrders", "CreatePrintOrder", *order)
        alarms = await client.nodes.server.read_event_history(
            started, datetime.now(UTC), evtypes=ua.ObjectIds.OffNormalAlarmType
        )
        assert any(str(e.SourceName) == "pump-1" and e.Severity == 700 for e in alarms)
        machine = client.get_node(machine_id)
        own = await machine.read_event_history(started, datetime.now(UTC))
        assert own, "the machine node holds the history of its own alarms"
        everything = await client.nodes.server.read_event_history(started, datetime.now(UTC))
        assert len(everything) > len(alarms), "the order event is in the history too"
    await site.server.alarms.clear("pump-1", "bearing")


async def test_create_print_order_takes_an_optional_material_lot(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    orders = site._orders
    assert isinstance(orders, FakeOrderBook)
    async with session(site, trusted_cert, "mes") as client:
        base = arguments_for("CreatePrintOrder", "")
        with_lot = await call_method(client, "PrintOrders", "CreatePrintOrder", *base, text("L-7"))
        without = await call_method(client, "PrintOrders", "CreatePrintOrder", *base)
    assert (orders.orders[with_lot].material_lot, orders.orders[without].material_lot) == (
        "L-7",
        "",
    )
