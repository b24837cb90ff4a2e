"""OPC 10000-110 Asset Management Basics (AMB): IMaintenanceEventType applied to an event type."""

# AMB §12.2: IMaintenanceEventType is an interface for conditions that describe a maintenance
# activity. An event type implements it with a HasInterface reference (OPC 10000-3 §6.9) and
# holds the interface's InstanceDeclarations as its own, so that a client browsing the type, and
# the instances made from it, find PlannedDate, MaintenanceState, ... with their AMB browse
# names. asyncua does not follow HasInterface when it instantiates a type, so the members are
# copied onto the type here, each with the modelling rule it has in the interface.

from __future__ import annotations

from asyncua import Server, ua
from asyncua.common.instantiate_util import _instantiate_node
from asyncua.common.node import Node

from opcua_server.errors import ServerError
from opcua_server.model.namespaces import AMB

I_MAINTENANCE_EVENT_TYPE = 1012
NAME_NODE_ID_DATA_TYPE = 3003
MAINTENANCE_STATE_IDS = {"Planned": 5006, "Executing": 5007, "Finished": 5008}
"""The states of MaintenanceEventStateMachineType (i=1013): a CurrentState's Id."""
# Numeric ids in the AMB namespace (Opc.Ua.AMB.NodeSet2.xml 1.01.1).

_MANDATORY = ua.NodeId(ua.ObjectIds.ModellingRule_Mandatory)


class AmbModelMissingError(ServerError):
    """The AMB nodeset, which defines IMaintenanceEventType, is not imported."""

    advice = "import the companion nodesets (opcua_server.model.companion) before the alarms"


async def amb_namespace(server: Server) -> int:
    """The index of the AMB namespace; AmbModelMissingError when its nodeset is not imported."""
    namespaces = await server.get_namespace_array()
    if AMB not in namespaces:
        raise AmbModelMissingError(f"the address space has no {AMB} namespace")
    index: int = namespaces.index(AMB)
    if ua.NodeId(I_MAINTENANCE_EVENT_TYPE, index) not in server.iserver.aspace:
        raise AmbModelMissingError(f"the {AMB} namespace has no IMaintenanceEventType")
    return index


def maintenance_state_id(state: str, amb: int) -> ua.NodeId:
    """The NodeId of an AMB maintenance state (``Planned``, ``Executing``, ``Finished``)."""
    return ua.NodeId(MAINTENANCE_STATE_IDS[state], amb)


def name_node_id(name: str, node: ua.NodeId | None, amb: int) -> object:
    """An AMB NameNodeIdDataType value (OPC 10000-110 §12.5): a name and, optionally, its node.

    The structure's class is the one asyncua made from the nodeset's DataTypeDefinition when
    it imported the AMB nodeset.
    """
    structure = ua.extension_objects_by_datatype.get(ua.NodeId(NAME_NODE_ID_DATA_TYPE, amb))
    if structure is None:
        raise AmbModelMissingError("NameNodeIdDataType is not known: import the AMB nodeset")
    return structure(Name=ua.LocalizedText(name), NodeId=node or ua.NodeId())


async def implement_maintenance_event(server: Server, event_type: Node, amb: int) -> None:
    """``event_type`` implements IMaintenanceEventType: HasInterface and the interface's
    members, copied with their modelling rules (OPC 10000-3 §6.9.3)."""
    interface = server.get_node(ua.NodeId(I_MAINTENANCE_EVENT_TYPE, amb))
    await event_type.add_reference(interface.nodeid, ua.ObjectIds.HasInterface, bidirectional=False)
    await _copy_declarations(server, interface, event_type)


async def _copy_declarations(server: Server, source: Node, target: Node) -> None:
    """Each child of ``source`` that has a modelling rule, copied under ``target`` with it."""
    for description in await source.get_children_descriptions():
        declaration = server.get_node(description.NodeId)
        rules = await declaration.get_referenced_nodes(refs=ua.ObjectIds.HasModellingRule)
        if not rules:
            continue
        copy_id = ua.NodeId(
            f"{target.nodeid.Identifier}/{description.BrowseName.Name}",
            target.nodeid.NamespaceIndex,
        )
        (added, *_) = await _instantiate_node(
            target.session,
            declaration,
            target.nodeid,
            description,
            copy_id,
            description.BrowseName,
            recursive=False,
        )
        copy = server.get_node(added)
        await copy.set_modelling_rule(rules[0].nodeid == _MANDATORY)
        await _copy_declarations(server, declaration, copy)
