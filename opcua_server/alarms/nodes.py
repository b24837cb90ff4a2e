"""The alarms' address space: our event types and one condition instance per alarm."""

from __future__ import annotations

from collections.abc import Sequence

from asyncua import Server, ua
from asyncua.common.instantiate_util import _instantiate_node
from asyncua.common.node import Node

from opcua_server.alarms.conditions import AlarmError, AlertInfo
from opcua_server.alarms.fields import SITE_EVENT_FIELDS, maintenance_alarm_type
from opcua_server.history.events import EventFields
from opcua_server.model.amb import (
    AmbModelMissingError,
    amb_namespace,
    implement_maintenance_event,
)
from opcua_server.model.namespaces import DI

ORDER_EVENTS = "PrintOrderEventType"
CERTIFICATE_EVENTS = "CertificateEventType"
SITE_EVENTS = "TrustfloorEventType"
ALARM_TYPE = "PredictiveMaintenanceAlarmType"
"""Our alarms' type: DI MaintenanceRequiredAlarmType implementing AMB IMaintenanceEventType."""
CONFIRM_FIELDS = ("ConfirmedState", "Confirm")
"""Optional in AcknowledgeableConditionType; every condition here has them."""
INSTANCE_MAINTENANCE_FIELDS = (
    "PlannedDate",
    "EstimatedDowntime",
    "MaintenanceMethod",
    "PartsOfAssetReplaced",
)
"""The optional IMaintenanceEventType members each condition shows (those the site fills;
MaintenanceState is mandatory)."""


def event_type_id(namespace: int, name: str) -> ua.NodeId:
    """NodeId of one of our event types (TrustfloorEventType and its subtypes)."""
    return ua.NodeId(f"EventTypes/{name}", namespace)


async def add_event_types(server: Server, namespace: int) -> None:
    """TrustfloorEventType (Kind, Subject, State) and its order and certificate subtypes."""
    ns = namespace
    base = server.get_node(ua.ObjectIds.BaseEventType)
    site = await base.add_object_type(
        event_type_id(ns, SITE_EVENTS), ua.QualifiedName(SITE_EVENTS, ns)
    )
    await site.write_attribute(
        ua.AttributeIds.IsAbstract, ua.DataValue(ua.Variant(True, ua.VariantType.Boolean))
    )
    for field in SITE_EVENT_FIELDS:
        prop = await site.add_property(
            ua.NodeId(f"EventTypes/{SITE_EVENTS}/{field}", ns),
            ua.QualifiedName(field, ns),
            ua.Variant("", ua.VariantType.String),
        )
        await prop.set_modelling_rule(True)
    for name in (ORDER_EVENTS, CERTIFICATE_EVENTS):
        await site.add_object_type(event_type_id(ns, name), ua.QualifiedName(name, ns))


async def alarm_type_of(server: Server) -> ua.NodeId:
    """DI MaintenanceRequiredAlarmType in ``server``; AlarmError when the DI nodeset is not
    imported (the alarms' type comes from it)."""
    namespaces = await server.get_namespace_array()
    alarm_type = maintenance_alarm_type(namespaces.index(DI)) if DI in namespaces else None
    if alarm_type is None or alarm_type not in server.iserver.aspace:
        raise AlarmError(
            "the maintenance alarms are DI MaintenanceRequiredAlarmType conditions, and the "
            "DI nodeset that defines the type is not imported",
            advice="import the companion nodesets before starting the alarms",
        )
    return alarm_type


async def add_alarm_type(server: Server, namespace: int) -> tuple[ua.NodeId, int]:
    """PredictiveMaintenanceAlarmType, a DI MaintenanceRequiredAlarmType that implements AMB
    IMaintenanceEventType (OPC 10000-110 §12.2); its NodeId and the AMB namespace's index.

    AlarmError when the DI or the AMB nodeset is not imported.
    """
    supertype = await alarm_type_of(server)
    try:
        amb = await amb_namespace(server)
    except AmbModelMissingError as missing:
        raise AlarmError(
            f"the maintenance alarms implement AMB IMaintenanceEventType: {missing}",
            advice=missing.advice,
        ) from missing
    type_id = event_type_id(namespace, ALARM_TYPE)
    alarm_type = await server.get_node(supertype).add_object_type(
        type_id, ua.QualifiedName(ALARM_TYPE, namespace)
    )
    await implement_maintenance_event(server, alarm_type, amb)
    return type_id, amb


async def add_condition_node(
    server: Server,
    folder: Node,
    namespace: int,
    condition: tuple[ua.NodeId, ua.NodeId],
    alert: AlertInfo,
) -> None:
    """The condition instance (``condition``: its NodeId and its type, an OffNormalAlarmType)
    under ``folder``/<machine>: the type's mandatory nodes plus Confirm(edState), and a
    HasCondition reference from the alert's source node."""
    ns = namespace
    condition_id, alarm_type = condition
    machine_folder = server.get_node(ua.NodeId(f"Alarms/{alert.machine}", ns))
    if machine_folder.nodeid not in server.iserver.aspace:
        machine_folder = await folder.add_folder(
            machine_folder.nodeid, ua.QualifiedName(alert.machine, ns)
        )
    node = await machine_folder.add_object(
        condition_id,
        ua.QualifiedName(alert.component, ns),
        objecttype=alarm_type,
        instantiate_optional=False,
    )
    await node.write_attribute(
        ua.AttributeIds.DisplayName,
        ua.DataValue(ua.Variant(ua.LocalizedText(f"{alert.source_name} {alert.component}"))),
    )
    await _add_declared(
        server, node, ns, ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType), CONFIRM_FIELDS
    )
    await _add_declared(server, node, ns, alarm_type, INSTANCE_MAINTENANCE_FIELDS)
    if alert.source_node in server.iserver.aspace:
        await server.get_node(alert.source_node).add_reference(
            condition_id, ua.ObjectIds.HasCondition
        )


async def _add_declared(
    server: Server, node: Node, namespace: int, declaring_type: ua.NodeId, wanted: Sequence[str]
) -> None:
    """The optional members ``wanted`` of ``declaring_type`` on the instance ``node``, as
    declared."""
    for description in await server.get_node(declaring_type).get_children_descriptions():
        if description.BrowseName.Name not in wanted:
            continue
        # asyncua's public instantiate() would type the copy with the declaration's NodeId;
        # its private worker keeps the declaration's TypeDefinition (asyncua pinned 2.1.0).
        await _instantiate_node(
            node.session,
            server.get_node(description.NodeId),
            node.nodeid,
            description,
            ua.NodeId(f"{node.nodeid.Identifier}.{description.BrowseName.Name}", namespace),
            description.BrowseName,
            instantiate_optional=False,
        )


async def mirror(server: Server, condition_id: ua.NodeId, fields: EventFields) -> None:
    """Write the event's fields into the condition instance's variables (Part 9 §4.10)."""
    aspace = server.iserver.aspace
    for name, value in fields.items():
        child = ua.NodeId(
            f"{condition_id.Identifier}.{name.replace('/', '.')}", condition_id.NamespaceIndex
        )
        if name != "NodeId" and child in aspace:
            await server.write_attribute_value(child, ua.DataValue(value))


async def allow_event_history(server: Server, source: ua.NodeId) -> None:
    """Set the HistoryRead bit of an event source's EventNotifier (OPC 10000-3 §5.4)."""
    node = server.get_node(source)
    current = await node.read_attribute(ua.AttributeIds.EventNotifier)
    bits = int(current.Value.Value or 0) | (1 << ua.EventNotifier.HistoryRead.value)
    await node.write_attribute(
        ua.AttributeIds.EventNotifier, ua.DataValue(ua.Variant(bits, ua.VariantType.Byte))
    )
