"""Maintenance alarms (OPC 10000-9) and event history through a secure asyncua client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, Server, ua
from asyncua.common.events import get_filter_from_event_type
from asyncua.common.subscription import Subscription

from opcua_server.alarms import (
    AlarmManager,
    AlertInfo,
)
from opcua_server.history.events import (
    EventStore,
)
from tests.integration.opcua.alarm_kit import (
    AlarmSite,
    EventCollector,
    acknowledge,
    confirm,
    import_alarm_nodesets,
    running_alarm_site,
)
from tests.support import make_client_certificate, secure_client

pytestmark = pytest.mark.asyncio(loop_scope="session")

ALARM_TYPE = ua.NodeId(ua.ObjectIds.OffNormalAlarmType)
"""What clients filter on here; the alarms are of its DI subtype MaintenanceRequiredAlarmType."""
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def alarm_site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AlarmSite]:
    async with running_alarm_site(tmp_path_factory.mktemp("alarms")) as running:
        yield running


@pytest.fixture(scope="module")
def client_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_client_certificate(tmp_path_factory.mktemp("client"))


def alert(site: AlarmSite, machine: str, component: str, severity: int = 700) -> AlertInfo:
    return AlertInfo(
        machine=machine,
        component=component,
        severity=severity,
        message=f"{component} of {machine}: RUL below lead time",
        source_node=site.machines[machine],
        source_name=machine,
    )


async def subscribed(
    client: Client, evtypes: list[ua.NodeId] | None = None
) -> tuple[Subscription, EventCollector]:
    """Events of ``evtypes`` (alarms by default) from the Server object."""
    collector = EventCollector()
    subscription = await client.create_subscription(50, collector)
    await subscription.subscribe_events(client.nodes.server, evtypes or [ALARM_TYPE])
    return subscription, collector


async def next_of(collector: EventCollector, component: str) -> dict[str, Any]:
    """The next event of the condition named ``component`` (skipping other conditions')."""
    while (event := await collector.next())["ConditionName"] != component:
        pass
    return event


async def test_alarm_reaches_a_client_subscribed_on_the_server_object(
    alarm_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(alarm_site.endpoint, client_cert) as client:
        subscription, events = await subscribed(client)
        condition = await alarm_site.alarms.raise_alert(
            alert(alarm_site, "mill-1", "spindle_bearing")
        )
        event = await next_of(events, "spindle_bearing")
        await subscription.delete()
        di = await client.get_namespace_index("http://opcfoundation.org/UA/DI/")
        assert event["EventType"] == alarm_site.alarms.alarm_type
        instance = client.get_node(condition)
        assert (await instance.read_type_definition()) == alarm_site.alarms.alarm_type
        alarm_type = client.get_node(alarm_site.alarms.alarm_type)
        (supertype,) = await alarm_type.get_referenced_nodes(
            ua.ObjectIds.HasSubtype, ua.BrowseDirection.Inverse
        )
        assert supertype.nodeid == ua.NodeId(15739, di)
        assert (await supertype.read_browse_name()).Name == "MaintenanceRequiredAlarmType"
        assert (
            event["NodeId"]
            == condition
            == ua.NodeId("Alarms/mill-1/spindle_bearing", alarm_site.namespace)
        )
        assert event["SourceNode"] == alarm_site.machines["mill-1"]
        assert event["SourceName"] == "mill-1"
        assert event["Severity"] == 700
        assert event["Message"].Text == "spindle_bearing of mill-1: RUL below lead time"
        assert event["ConditionClassId"] == ua.NodeId(ua.ObjectIds.MaintenanceConditionClassType)
        assert event["BranchId"] == ua.NodeId()
        assert (event["EnabledState/Id"], event["ActiveState/Id"]) == (True, True)
        assert (event["AckedState/Id"], event["ConfirmedState/Id"]) == (False, True)
        assert event["Retain"] is True
        assert len(event["EventId"]) == 16
        assert event["Time"] < alarm_site.clock.peek()
        assert event["ReceiveTime"] >= event["Time"]
        assert await (await instance.get_child(["0:ActiveState", "0:Id"])).read_value() is True
        assert await (await instance.get_child("0:EventId")).read_value() == event["EventId"]
        conditions = await client.get_node(alarm_site.machines["mill-1"]).get_referenced_nodes(
            ua.ObjectIds.HasCondition
        )
        assert condition in [c.nodeid for c in conditions]


async def of_type_filter(client: Client, event_type: int) -> ua.EventFilter:
    """The alarm fields, where OfType ``event_type``: the filter node-opcua and UaExpert build."""
    evfilter = await get_filter_from_event_type([client.get_node(ALARM_TYPE)])
    of_type = ua.ContentFilterElement(
        FilterOperator=ua.FilterOperator.OfType,
        FilterOperands=[ua.LiteralOperand(Value=ua.Variant(ua.NodeId(event_type)))],
    )
    evfilter.WhereClause = ua.ContentFilter(Elements=[of_type])
    return evfilter


async def test_clients_filtering_with_oftype_on_a_supertype_find_the_alarms(
    alarm_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    """OPC 10000-4 §7.7.3: OfType OffNormalAlarmType admits its subtype's events, live and in
    the history; OfType of a type aside (SystemEventType) does not."""
    start = alarm_site.clock.peek()
    async with await secure_client(alarm_site.endpoint, client_cert) as client:
        events = EventCollector()
        subscription = await client.create_subscription(50, events)
        for event_type in (ua.ObjectIds.SystemEventType, ua.ObjectIds.OffNormalAlarmType):
            evfilter = await of_type_filter(client, event_type)
            await subscription.subscribe_events(client.nodes.server, ALARM_TYPE, evfilter)
        await alarm_site.alarms.raise_alert(alert(alarm_site, "mill-1", "lubrication"))
        live = await next_of(events, "lubrication")
        details = ua.ReadEventDetails(StartTime=start, EndTime=alarm_site.clock.peek())
        history: dict[int, list[str]] = {}
        for event_type in (ua.ObjectIds.OffNormalAlarmType, ua.ObjectIds.SystemEventType):
            details.Filter = await of_type_filter(client, event_type)
            result = await client.nodes.server.history_read(details)
            clauses = details.Filter.SelectClauses
            paths = [c.BrowsePath[0].Name if c.BrowsePath else "" for c in clauses]
            named = paths.index("ConditionName")
            history[event_type] = [f.EventFields[named].Value for f in result.HistoryData.Events]
        await subscription.delete()
    assert live["EventType"] == alarm_site.alarms.alarm_type
    # Both items' notifications of one event travel in one publish, queued together.
    assert events.events.empty(), "the SystemEventType item received nothing"
    assert history == {
        ua.ObjectIds.OffNormalAlarmType: ["lubrication"],
        ua.ObjectIds.SystemEventType: [],
    }


async def test_acknowledge_confirm_and_clear_follow_part_9(
    alarm_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    condition = await alarm_site.alarms.raise_alert(alert(alarm_site, "pump-1", "seal", 500))
    raised = alarm_site.alarms.condition("pump-1", "seal")
    assert raised is not None
    async with (
        await secure_client(alarm_site.endpoint, client_cert, user="mes") as mes,
        await secure_client(alarm_site.endpoint, client_cert, user="planner") as planner,
    ):
        subscription, events = await subscribed(mes)
        good = ua.StatusCodes.Good
        assert await acknowledge(mes, condition, raised.event_id, "seen at 08:00") == good
        acked = await next_of(events, "seal")
        assert (acked["AckedState/Id"], acked["ConfirmedState/Id"], acked["Retain"]) == (
            True,
            False,
            True,
        )
        assert acked["Comment"].Text == "seen at 08:00"
        assert acked["ClientUserId"] == "mes"
        assert acked["EventId"] != raised.event_id
        again = await acknowledge(mes, condition, acked["EventId"], "twice")
        assert again == ua.StatusCodes.BadConditionBranchAlreadyAcked
        stale = await confirm(planner, condition, raised.event_id, "stale")
        assert stale == ua.StatusCodes.BadEventIdUnknown
        refused = await confirm(mes, condition, acked["EventId"], "mes may not confirm")
        assert refused == ua.StatusCodes.BadUserAccessDenied
        assert await confirm(planner, condition, acked["EventId"], "seal replaced") == good
        done = await next_of(events, "seal")
        assert (done["ConfirmedState/Id"], done["ActiveState/Id"], done["Retain"]) == (
            True,
            True,
            True,
        )
        assert done["ClientUserId"] == "planner"
        assert await confirm(planner, condition, done["EventId"], "again") == (
            ua.StatusCodes.BadConditionBranchAlreadyConfirmed
        )
        assert await alarm_site.alarms.clear("pump-1", "seal") is True
        cleared = await next_of(events, "seal")
        await subscription.delete()
    assert (cleared["ActiveState/Id"], cleared["Retain"]) == (False, False)
    assert condition not in [s.condition_id for s in alarm_site.alarms.retained()]


async def test_a_cleared_alarm_stays_retained_until_acknowledged_and_confirmed(
    alarm_site: AlarmSite,
) -> None:
    alarms = alarm_site.alarms
    condition = await alarms.raise_alert(alert(alarm_site, "mill-1", "coolant_pump", 300))
    assert await alarms.clear("mill-1", "coolant_pump") is True
    assert await alarms.clear("mill-1", "coolant_pump") is False, "already inactive"
    state = alarms.condition("mill-1", "coolant_pump")
    assert state is not None
    assert state.retain
    assert not state.active
    state = await alarms.acknowledge(condition, state.event_id, "seen", user="operator-1")
    assert state.retain, "unconfirmed"
    state = await alarms.confirm(condition, state.event_id, "fixed", user="operator-1")
    assert not state.retain


async def test_condition_refresh_sends_retained_conditions_between_start_and_end(
    alarm_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    retained = await alarm_site.alarms.raise_alert(alert(alarm_site, "pump-1", "impeller", 800))
    current = alarm_site.alarms.condition("pump-1", "impeller")
    assert current is not None
    async with await secure_client(alarm_site.endpoint, client_cert) as client:
        subscription, events = await subscribed(client)  # the where clause admits alarms only
        conditions = client.get_node(ua.ObjectIds.ConditionType)
        await conditions.call_method(
            ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
            ua.Variant(subscription.subscription_id, ua.VariantType.UInt32),
        )
        received = [await events.next()]
        while received[-1]["EventType"] != ua.NodeId(ua.ObjectIds.RefreshEndEventType):
            received.append(await events.next())
        await subscription.delete()
    types = [e["EventType"] for e in received]
    assert types[0] == ua.NodeId(ua.ObjectIds.RefreshStartEventType), "start despite the filter"
    refreshed = {e["NodeId"]: e for e in received[1:-1]}
    assert refreshed[retained]["EventId"] == current.event_id, "the condition's latest event"
    expected = {s.condition_id for s in alarm_site.alarms.retained()}
    assert set(refreshed) == expected
    assert all(e["Retain"] for e in refreshed.values())


async def test_condition_refresh_refuses_unknown_subscriptions(
    alarm_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(alarm_site.endpoint, client_cert) as client:
        conditions = client.get_node(ua.ObjectIds.ConditionType)
        with pytest.raises(ua.UaStatusCodeError) as refused:
            await conditions.call_method(
                ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
                ua.Variant(987654, ua.VariantType.UInt32),
            )
        assert refused.value.code == ua.StatusCodes.BadSubscriptionIdInvalid
        subscription = await client.create_subscription(50, EventCollector())
        with pytest.raises(ua.UaStatusCodeError) as nothing:
            await conditions.call_method(
                ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
                ua.Variant(subscription.subscription_id, ua.VariantType.UInt32),
            )
        with pytest.raises(ua.UaStatusCodeError) as elsewhere:
            await client.nodes.server.call_method(
                ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
                ua.Variant(subscription.subscription_id, ua.VariantType.UInt32),
            )
        await subscription.delete()
        assert nothing.value.code == ua.StatusCodes.BadNothingToDo
        assert elsewhere.value.code == ua.StatusCodes.BadMethodInvalid


async def test_unknown_condition_and_bad_arguments_are_refused(
    alarm_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(alarm_site.endpoint, client_cert) as client:
        server = ua.NodeId(ua.ObjectIds.Server)
        status = await acknowledge(client, server, b"0" * 16, "not a condition")
        assert status == ua.StatusCodes.BadNodeIdUnknown
        condition = await alarm_site.alarms.raise_alert(alert(alarm_site, "mill-1", "axis_x"))
        request = ua.CallMethodRequest()
        request.ObjectId = condition
        request.MethodId = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
        request.InputArguments = [ua.Variant("not bytes", ua.VariantType.String)]
        (missing,) = await client.uaclient.call([request])
        assert missing.StatusCode.value == ua.StatusCodes.BadArgumentsMissing
        request.InputArguments.append(ua.Variant(ua.LocalizedText("x")))
        (mismatch,) = await client.uaclient.call([request])
        assert mismatch.StatusCode.value == ua.StatusCodes.BadTypeMismatch
    state = alarm_site.alarms.condition("mill-1", "axis_x")
    assert state is not None
    assert not state.acked, "a bad call changes nothing"


async def test_order_and_certificate_events_come_from_the_server_object(
    alarm_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    alarms = alarm_site.alarms
    order_type = alarms.event_type("PrintOrderEventType")
    certificate_type = alarms.event_type("CertificateEventType")
    async with await secure_client(alarm_site.endpoint, client_cert) as client:
        subscription, events = await subscribed(client, [order_type, certificate_type])
        order_id = await alarms.emit_order_event("PO-0042", "created", "order for seal kit")
        await alarms.emit_certificate_event(
            "SN-7", "certified", "part SN-7 certified", severity=200
        )
        order, certificate = await events.next(), await events.next()
        await subscription.delete()
    assert order["EventId"] == order_id
    assert order["EventType"] == order_type
    assert (order["Kind"], order["Subject"], order["State"]) == (
        "print_order",
        "PO-0042",
        "created",
    )
    assert order["Message"].Text == "order for seal kit"
    assert order["Severity"] == 100
    assert order["SourceNode"] == ua.NodeId(ua.ObjectIds.Server)
    assert (certificate["Kind"], certificate["Subject"], certificate["State"]) == (
        "certificate",
        "SN-7",
        "certified",
    )
    assert certificate["EventType"] == certificate_type
    assert certificate["Severity"] == 200


async def test_event_history_on_the_server_object_and_the_machine_node(
    alarm_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    alarms = alarm_site.alarms
    start = alarm_site.clock.peek()
    await alarms.raise_alert(alert(alarm_site, "mill-1", "tool_wear", 400))
    await alarms.emit_order_event("PO-0100", "created", "tool for mill-1")
    await alarms.raise_alert(alert(alarm_site, "pump-1", "bearing_b", 600))
    await alarms.clear("mill-1", "tool_wear")
    end = alarm_site.clock.peek()
    async with await secure_client(alarm_site.endpoint, client_cert) as client:
        everything = await client.nodes.server.read_event_history(start, end)
        mill = client.get_node(alarm_site.machines["mill-1"])
        mill_alarms = await mill.read_event_history(start, end, evtypes=ALARM_TYPE)
        only_alarms = await client.nodes.server.read_event_history(start, end, evtypes=ALARM_TYPE)
        newest_first = await client.nodes.server.read_event_history(end, start, numvalues=2)
        notifier = await mill.read_attribute(ua.AttributeIds.EventNotifier)
    assert [e.SourceName for e in everything] == ["mill-1", "Server", "pump-1", "mill-1"]
    assert [e.Time for e in everything] == sorted(e.Time for e in everything)
    assert [(e.ConditionName, getattr(e, "ActiveState/Id")) for e in mill_alarms] == [
        ("tool_wear", True),
        ("tool_wear", False),
    ]
    assert [e.ConditionName for e in only_alarms] == ["tool_wear", "bearing_b", "tool_wear"]
    assert [e.SourceName for e in newest_first] == ["mill-1", "pump-1"]
    assert notifier.Value.Value & (1 << ua.EventNotifier.HistoryRead.value)


async def test_event_history_pages_with_continuation_points(
    alarm_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    start = alarm_site.clock.peek()
    for n in range(5):
        await alarm_site.alarms.emit_certificate_event(f"SN-P{n}", "certified", "paged")
    details = ua.ReadEventDetails()
    details.StartTime, details.EndTime = start, alarm_site.clock.peek()
    details.NumValuesPerNode = 2
    details.Filter = ua.EventFilter()
    operand = ua.SimpleAttributeOperand()
    operand.TypeDefinitionId = ua.NodeId(ua.ObjectIds.BaseEventType)
    operand.BrowsePath = [ua.QualifiedName("Subject", alarm_site.namespace)]
    operand.AttributeId = ua.AttributeIds.Value
    details.Filter.SelectClauses = [operand]
    pages: list[list[str]] = []
    point: bytes | None = None
    async with await secure_client(alarm_site.endpoint, client_cert) as client:
        while True:
            result = await client.nodes.server.history_read(details, point)
            pages.append([f.EventFields[0].Value for f in result.HistoryData.Events])
            if not (point := result.ContinuationPoint):
                break
        bad = await client.nodes.server.history_read(details, b"forged")
    assert pages[:3] == [["SN-P0", "SN-P1"], ["SN-P2", "SN-P3"], ["SN-P4"]]
    assert bad.StatusCode.value == ua.StatusCodes.BadContinuationPointInvalid


async def test_a_restarted_server_restores_retained_alarms_from_the_history(
    alarm_site: AlarmSite,
) -> None:
    await alarm_site.alarms.raise_alert(alert(alarm_site, "pump-1", "motor", 900))
    before = {s.condition_id: s for s in alarm_site.alarms.retained()}
    fresh = Server()
    await fresh.init()
    await import_alarm_nodesets(fresh)
    namespace = await fresh.register_namespace("urn:trustfloor:site")
    assert namespace == alarm_site.namespace
    store = EventStore(alarm_site.store.path)
    try:
        restored = AlarmManager(fresh, namespace, store)
        await restored.start()
        after = {s.condition_id: s for s in restored.retained()}
        motor = ua.NodeId("Alarms/pump-1/motor", namespace)
        assert after == before
        node = fresh.get_node(motor)
        assert await (await node.get_child(["0:ActiveState", "0:Id"])).read_value() is True
        state = after[motor]
        acked = await restored.acknowledge(motor, state.event_id, "after restart")
        assert acked.acked
    finally:
        await store.close()
