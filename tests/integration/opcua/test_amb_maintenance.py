"""Planned maintenance as OPC 10000-110 (AMB) IMaintenanceEventType fields, seen by a client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Server, ua

from maintenance import (
    AlertService,
    AlertStore,
    Catalogue,
    Closure,
    WorkRequestDesk,
    WorkRequestStatus,
    WorkRequestStore,
)
from maintenance.orders import SqliteOrderBook
from opcua_server.alarms import AlarmError, AlarmManager, AlertInfo
from opcua_server.alarms.maintenance import (
    MaintenanceMethod,
    MaintenanceStage,
    PlannedMaintenance,
    ReplacedPart,
)
from opcua_server.history.events import EventStore
from opcua_server.model.companion import NODESETS, nodeset_text, without_design_tool_only
from opcua_server.model.namespaces import AMB, DI
from opcua_server.runtime.adapters import AlarmManagerSink
from opcua_server.runtime.maintenance_alarms import MaintenancePlans, WorkRequestAlarms
from tests.integration.opcua.alarm_kit import (
    AlarmSite,
    EventCollector,
    import_alarm_nodesets,
    running_alarm_site,
)
from tests.support import NAMESPACE_URI, make_client_certificate, secure_client
from tests.unit.maintenance.alerts.policy_kit import (
    AFTER_ORDER,
    BEARING,
    BEARING_PART,
    SETTINGS,
    WEAR,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

DUE = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
I_MAINTENANCE_EVENT_TYPE = 1012
STATE_IDS = {"Planned": 5006, "Executing": 5007, "Finished": 5008}
"""Numeric ids in Opc.Ua.AMB.NodeSet2.xml 1.01.1, as a client that knows the spec has them."""
AMB_FIELDS = (
    ("PlannedDate",),
    ("EstimatedDowntime",),
    ("MaintenanceMethod",),
    ("PartsOfAssetReplaced",),
    ("MaintenanceState", "CurrentState"),
    ("MaintenanceState", "CurrentState", "Id"),
)
"""Browse paths from IMaintenanceEventType; the first name of each is in the AMB namespace."""


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def amb_site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AlarmSite]:
    async with running_alarm_site(tmp_path_factory.mktemp("amb")) as running:
        yield running


@pytest.fixture(scope="module")
def client_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_client_certificate(tmp_path_factory.mktemp("client"))


def planned(stage: MaintenanceStage, *parts: str) -> PlannedMaintenance:
    return PlannedMaintenance(
        stage=stage,
        planned_date=DUE,
        method=MaintenanceMethod.LOCAL,
        parts_replaced=tuple(ReplacedPart(serial) for serial in parts),
    )


def operand(*path: ua.QualifiedName) -> ua.SimpleAttributeOperand:
    return ua.SimpleAttributeOperand(
        TypeDefinitionId=ua.NodeId(ua.ObjectIds.BaseEventType),
        BrowsePath=list(path),
        AttributeId=ua.AttributeIds.Value,
    )


def amb_filter(amb: int, alarm_type: ua.NodeId) -> ua.EventFilter:
    """ConditionName, EventType and the AMB fields by their browse paths, of ``alarm_type``."""
    select = [operand(ua.QualifiedName("ConditionName")), operand(ua.QualifiedName("EventType"))]
    for first, *rest in AMB_FIELDS:
        select.append(
            operand(ua.QualifiedName(first, amb), *(ua.QualifiedName(name) for name in rest))
        )
    of_type = ua.ContentFilterElement(
        FilterOperator=ua.FilterOperator.OfType,
        FilterOperands=[ua.LiteralOperand(Value=ua.Variant(alarm_type))],
    )
    return ua.EventFilter(SelectClauses=select, WhereClause=ua.ContentFilter([of_type]))


async def next_of(events: EventCollector, component: str) -> dict[str, Any]:
    while (event := await events.next())["ConditionName"] != component:
        pass
    return event


async def next_planned_at(events: EventCollector, due: datetime) -> dict[str, Any]:
    """The next event of the bearing's alarm that plans its maintenance for ``due``."""
    while (event := await next_of(events, BEARING))["PlannedDate"] != due:
        pass
    return event


async def test_the_alarm_type_implements_imaintenanceeventtype(
    amb_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(amb_site.endpoint, client_cert) as client:
        amb = await client.get_namespace_index(AMB)
        alarm_type = client.get_node(amb_site.alarms.alarm_type)
        interfaces = await alarm_type.get_referenced_nodes(
            ua.ObjectIds.HasInterface, ua.BrowseDirection.Forward
        )
        assert [i.nodeid for i in interfaces] == [ua.NodeId(I_MAINTENANCE_EVENT_TYPE, amb)]
        interface = interfaces[0]
        assert (await interface.read_browse_name()) == ua.QualifiedName(
            "IMaintenanceEventType", amb
        )
        members = [(await n.read_browse_name()) for n in await alarm_type.get_children()]
        for name in ("PlannedDate", "EstimatedDowntime", "MaintenanceState", "MaintenanceMethod"):
            assert ua.QualifiedName(name, amb) in members, name
        state = await alarm_type.get_child(f"{amb}:MaintenanceState")
        rule = await state.get_referenced_nodes(ua.ObjectIds.HasModellingRule)
        assert [r.nodeid for r in rule] == [ua.NodeId(ua.ObjectIds.ModellingRule_Mandatory)]


async def test_amb_fields_follow_the_maintenance_from_planned_to_finished(
    amb_site: AlarmSite, client_cert: tuple[Path, Path]
) -> None:
    alarms = amb_site.alarms
    async with await secure_client(amb_site.endpoint, client_cert) as client:
        amb = await client.get_namespace_index(AMB)
        events = EventCollector()
        subscription = await client.create_subscription(50, events)
        await subscription.subscribe_events(
            client.nodes.server, evfilter=amb_filter(amb, alarms.alarm_type)
        )
        condition = await alarms.raise_alert(
            AlertInfo(
                machine="mill-1",
                component="spindle_bearing",
                severity=700,
                message="spindle bearing of mill-1: RUL below lead time",
                source_node=amb_site.machines["mill-1"],
                source_name="mill-1",
                maintenance=planned(MaintenanceStage.PLANNED),
            )
        )
        raised = await next_of(events, "spindle_bearing")
        assert raised["EventType"] == alarms.alarm_type
        assert raised["PlannedDate"] == DUE
        assert raised["MaintenanceState/CurrentState"].Text == "Planned"
        assert raised["MaintenanceState/CurrentState/Id"] == ua.NodeId(STATE_IDS["Planned"], amb)
        assert raised["MaintenanceMethod"] == MaintenanceMethod.LOCAL
        assert raised["EstimatedDowntime"] is None, "no fitting time known: not invented"
        assert raised["PartsOfAssetReplaced"] is None

        executing = planned(MaintenanceStage.EXECUTING)
        assert await alarms.plan_maintenance("mill-1", "spindle_bearing", executing)
        assert not await alarms.plan_maintenance("mill-1", "spindle_bearing", executing)
        started = await next_of(events, "spindle_bearing")
        assert started["MaintenanceState/CurrentState"].Text == "Executing"
        assert started["MaintenanceState/CurrentState/Id"] == ua.NodeId(STATE_IDS["Executing"], amb)

        await alarms.clear("mill-1", "spindle_bearing")
        await next_of(events, "spindle_bearing")
        finished = planned(MaintenanceStage.FINISHED, "P-000042")
        assert await alarms.plan_maintenance("mill-1", "spindle_bearing", finished)
        closed = await next_of(events, "spindle_bearing")
        await subscription.delete()
        assert closed["MaintenanceState/CurrentState"].Text == "Finished"
        assert closed["MaintenanceState/CurrentState/Id"] == ua.NodeId(STATE_IDS["Finished"], amb)
        (part,) = closed["PartsOfAssetReplaced"]
        assert part.Name.Text == "P-000042"
        assert part.NodeId == ua.NodeId(), "the part is not shown in this address space"
        instance = client.get_node(condition)
        current = await instance.get_child([f"{amb}:MaintenanceState", "0:CurrentState"])
        assert (await current.read_value()).Text == "Finished"
        planned_date = await instance.get_child(f"{amb}:PlannedDate")
        assert await planned_date.read_value() == DUE


async def test_an_unknown_condition_has_no_maintenance_to_plan(amb_site: AlarmSite) -> None:
    plan = planned(MaintenanceStage.EXECUTING)
    assert not await amb_site.alarms.plan_maintenance("pump-1", "no_such_component", plan)


async def test_a_replaced_part_the_server_shows_is_named_with_its_node(
    amb_site: AlarmSite,
) -> None:
    alarms = amb_site.alarms
    part = ua.NodeId("Parts/SN-G-9", amb_site.namespace)
    await amb_site.server.nodes.objects.add_object(
        part, ua.QualifiedName("SN-G-9", part.NamespaceIndex)
    )
    worn = AlertInfo(
        "mill-1", "gearbox", 500, "gearbox wears", amb_site.machines["mill-1"], "mill-1"
    )
    await alarms.raise_alert(worn)
    assert await alarms.plan_maintenance(
        "mill-1", "gearbox", planned(MaintenanceStage.FINISHED, "SN-G-9", "SN-unknown")
    )
    state = alarms.condition("mill-1", "gearbox")
    assert state is not None
    assert state.maintenance is not None
    assert state.maintenance.parts_replaced == (
        ReplacedPart("SN-G-9", part),
        ReplacedPart("SN-unknown"),
    )


async def test_a_restarted_server_restores_the_planned_maintenance(amb_site: AlarmSite) -> None:
    alarms = amb_site.alarms
    await alarms.raise_alert(
        AlertInfo(
            "pump-1",
            "impeller",
            600,
            "impeller of pump-1 wears",
            amb_site.machines["pump-1"],
            "pump-1",
            maintenance=planned(MaintenanceStage.PLANNED),
        )
    )
    fitted = planned(MaintenanceStage.FINISHED, "P-000043")
    assert await alarms.plan_maintenance("pump-1", "impeller", fitted)
    before = alarms.condition("pump-1", "impeller")
    fresh = Server()
    await fresh.init()
    await import_alarm_nodesets(fresh)
    namespace = await fresh.register_namespace(NAMESPACE_URI)
    store = EventStore(amb_site.store.path)
    try:
        restored = AlarmManager(fresh, namespace, store)
        await restored.start()
        after = restored.condition("pump-1", "impeller")
        assert before is not None
        assert after is not None
        assert after.maintenance == before.maintenance == fitted
    finally:
        await store.close()


async def test_an_alerts_work_request_moves_its_alarm_from_planned_to_finished(
    amb_site: AlarmSite, client_cert: tuple[Path, Path], tmp_path: Path
) -> None:
    desk = WorkRequestDesk(WorkRequestStore(tmp_path / "work_requests.sqlite"))
    fitted_in_3_h = BEARING_PART.model_copy(update={"fitting_hours": 3.0})
    plans = MaintenancePlans(Catalogue([fitted_in_3_h]))
    progress = WorkRequestAlarms(amb_site.alarms, asyncio.get_running_loop(), plans)
    desk.watchers.append(progress)
    service = await AlertService.start(
        AlertStore(tmp_path / "alerts.sqlite"),
        SqliteOrderBook(tmp_path / "orders.sqlite"),
        SETTINGS,
        sink=AlarmManagerSink(amb_site.alarms, amb_site.machines, plans),
        work_requests=desk,
    )
    try:
        async with await secure_client(amb_site.endpoint, client_cert) as client:
            amb = await client.get_namespace_index(AMB)
            events = EventCollector()
            subscription = await client.create_subscription(50, events)
            await subscription.subscribe_events(
                client.nodes.server, evfilter=amb_filter(amb, amb_site.alarms.alarm_type)
            )
            await service.observe(WEAR[:AFTER_ORDER])
            await progress.settled()
            (request,) = desk.store.all()
            # the alarm is raised, then replanned as the RUL band moves: the work request's
            # latest due date arrives as PlannedDate
            planned = await next_planned_at(events, request.due_date)
            assert planned["MaintenanceState/CurrentState"].Text == "Planned"
            assert planned["MaintenanceMethod"] == MaintenanceMethod.LOCAL
            assert planned["EstimatedDowntime"] == 3 * 3_600_000.0, "the part's fitting time"

            # the CMMS reports the work started, through the receiver's thread
            await asyncio.to_thread(desk.move_now, request.id, WorkRequestStatus.IN_PROGRESS)
            await progress.settled()
            started = await next_of(events, BEARING)
            assert started["MaintenanceState/CurrentState"].Text == "Executing"
            assert started["PlannedDate"] == request.due_date

            closure = Closure(
                failure_mode="VIB",
                failure_mechanism="2.4",
                failure_cause="3.4",
                repaired_at=request.due_date,
                part_serial="SN-BH-0007",
            )
            await desk.close(request.id, closure)
            await progress.settled()
            closed = await next_of(events, BEARING)
            await subscription.delete()
        assert closed["MaintenanceState/CurrentState"].Text == "Finished"
        assert closed["MaintenanceState/CurrentState/Id"] == ua.NodeId(STATE_IDS["Finished"], amb)
        assert [part.Name.Text for part in closed["PartsOfAssetReplaced"]] == ["SN-BH-0007"]
    finally:
        await service.orders.close()
        service.store.close()
        desk.store.close()


async def test_alarms_without_the_amb_nodeset_say_what_to_import(amb_site: AlarmSite) -> None:
    bare = Server()
    await bare.init()
    (di,) = (nodeset for nodeset in NODESETS if nodeset.model_uri == DI)
    await bare.import_xml(xmlstring=without_design_tool_only(nodeset_text(di.file)))
    namespace = await bare.register_namespace(NAMESPACE_URI)
    with pytest.raises(AlarmError, match="IMaintenanceEventType") as refused:
        await AlarmManager(bare, namespace, amb_site.store).start()
    assert "import the companion nodesets" in refused.value.advice
