"""Node creation through AddNodes with explicit type definitions, access levels and ids."""

from __future__ import annotations

from typing import Any, TypeAlias

from asyncua import Server, ua

READ = ua.AccessLevel.CurrentRead.mask
WRITE = ua.AccessLevel.CurrentWrite.mask
HISTORY = ua.AccessLevel.HistoryRead.mask


def _node_id(namespace: int, node_id: ua.NodeId | str) -> ua.NodeId:
    return node_id if isinstance(node_id, ua.NodeId) else ua.NodeId(node_id, namespace)


def _qualified(namespace: int, name: ua.QualifiedName | str) -> ua.QualifiedName:
    return name if isinstance(name, ua.QualifiedName) else ua.QualifiedName(name, namespace)


TypeId: TypeAlias = int | ua.NodeId
"""A type or reference type: a standard one by its number in namespace 0, or any NodeId."""


def _type_node(type_id: TypeId) -> ua.NodeId:
    return type_id if isinstance(type_id, ua.NodeId) else ua.NodeId(type_id)


class NodeBuilder:
    """Adds folders, objects, variables and properties under string NodeIds of one namespace."""

    def __init__(self, server: Server, namespace: int) -> None:
        self._server = server
        self.namespace = namespace

    async def _add(self, item: ua.AddNodesItem) -> ua.NodeId:
        (result,) = await self._server.iserver.isession.add_nodes([item])
        result.StatusCode.check()
        return result.AddedNodeId

    def _item(
        self,
        parent: ua.NodeId,
        node_id: ua.NodeId | str | None,
        name: ua.QualifiedName | str,
        node_class: ua.NodeClass,
        reference: TypeId,
        type_definition: TypeId,
    ) -> ua.AddNodesItem:
        item = ua.AddNodesItem()
        if node_id is not None:
            item.RequestedNewNodeId = _node_id(self.namespace, node_id)
        item.BrowseName = _qualified(self.namespace, name)
        item.NodeClass = node_class
        item.ParentNodeId = parent
        item.ReferenceTypeId = _type_node(reference)
        item.TypeDefinition = _type_node(type_definition)
        return item

    async def folder(
        self, parent: ua.NodeId, node_id: ua.NodeId | str, name: ua.QualifiedName | str
    ) -> ua.NodeId:
        return await self.obj(
            parent, node_id, name, type_definition=ua.ObjectIds.FolderType, organizes=True
        )

    async def obj(
        self,
        parent: ua.NodeId,
        node_id: ua.NodeId | str,
        name: ua.QualifiedName | str,
        *,
        display: str | None = None,
        type_definition: TypeId = ua.ObjectIds.BaseObjectType,
        organizes: bool = False,
        reference: TypeId | None = None,
        event_notifier: int = 0,
    ) -> ua.NodeId:
        """An object under ``parent`` by HasComponent (Organizes, or ``reference``, if asked)."""
        if reference is None:
            reference = ua.ObjectIds.Organizes if organizes else ua.ObjectIds.HasComponent
        item = self._item(parent, node_id, name, ua.NodeClass.Object, reference, type_definition)
        attrs = ua.ObjectAttributes()
        attrs.DisplayName = ua.LocalizedText(display or item.BrowseName.Name)
        attrs.EventNotifier = event_notifier
        item.NodeAttributes = attrs
        return await self._add(item)

    async def variable(
        self,
        parent: ua.NodeId,
        node_id: ua.NodeId | str | None,
        name: ua.QualifiedName | str,
        value: Any,
        variant_type: ua.VariantType | None = None,
        *,
        writable: bool = False,
        historizing: bool = False,
        type_definition: TypeId = ua.ObjectIds.BaseDataVariableType,
        reference: TypeId = ua.ObjectIds.HasComponent,
        description: str = "",
        data_type: ua.NodeId | None = None,
    ) -> ua.NodeId:
        """A variable whose DataType follows its initial value's Variant type unless given."""
        item = self._item(parent, node_id, name, ua.NodeClass.Variable, reference, type_definition)
        variant = ua.Variant(value, variant_type)
        attrs = ua.VariableAttributes()
        attrs.DisplayName = ua.LocalizedText(item.BrowseName.Name)
        if description:
            attrs.Description = ua.LocalizedText(description)
        attrs.Value = variant
        attrs.DataType = data_type or ua.NodeId(variant.VariantType.value)
        attrs.ValueRank = 1 if isinstance(value, list) else -1
        if isinstance(value, list):
            attrs.ArrayDimensions = [0]
        access = READ | (WRITE if writable else 0) | (HISTORY if historizing else 0)
        attrs.AccessLevel = access
        attrs.UserAccessLevel = access
        attrs.Historizing = historizing
        item.NodeAttributes = attrs
        return await self._add(item)

    async def prop(
        self,
        parent: ua.NodeId,
        node_id: ua.NodeId | str,
        name: ua.QualifiedName | str,
        value: Any,
        variant_type: ua.VariantType | None = None,
        *,
        writable: bool = False,
    ) -> ua.NodeId:
        """A property (OPC 10000-3 §4.4.2): a variable of PropertyType under HasProperty."""
        return await self.variable(
            parent,
            node_id,
            name,
            value,
            variant_type,
            writable=writable,
            type_definition=ua.ObjectIds.PropertyType,
            reference=ua.ObjectIds.HasProperty,
        )

    async def analog_item(
        self,
        parent: ua.NodeId,
        node_id: ua.NodeId,
        name: str,
        description: str,
        *,
        historizing: bool,
    ) -> ua.NodeId:
        """A Double AnalogItemType variable (OPC 10000-8 §5.3.2.3); the caller adds properties."""
        return await self.variable(
            parent,
            node_id,
            name,
            0.0,
            ua.VariantType.Double,
            historizing=historizing,
            type_definition=ua.ObjectIds.AnalogItemType,
            description=description,
        )
