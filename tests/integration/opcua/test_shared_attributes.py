"""Shared attribute values: equal scalar DataValues become one object; nothing else changes."""

from __future__ import annotations

from asyncua import Server, ua

from opcua_server.fastpath import install_patch
from opcua_server.fastpath.sharing import NO_CALLBACKS, PATCH, shared


def value(v: object, vtype: ua.VariantType) -> ua.DataValue:
    return ua.DataValue(ua.Variant(v, vtype))


def test_equal_scalars_are_one_object_and_unequal_ones_stay_apart() -> None:
    first = shared(value(3, ua.VariantType.Int32))
    assert shared(value(3, ua.VariantType.Int32)) is first
    assert shared(value(3, ua.VariantType.UInt32)) is not first
    assert shared(value(True, ua.VariantType.Boolean)).Value.Value is True
    zero, minus_zero = value(0.0, ua.VariantType.Double), value(-0.0, ua.VariantType.Double)
    assert shared(minus_zero) is not shared(zero)
    text = ua.LocalizedText("Speed")
    assert shared(value(text, ua.VariantType.LocalizedText)) is shared(
        value(ua.LocalizedText("Speed"), ua.VariantType.LocalizedText)
    )
    name = value(ua.QualifiedName("t000", 2), ua.VariantType.QualifiedName)
    assert shared(name) is shared(value(ua.QualifiedName("t000", 2), ua.VariantType.QualifiedName))
    node_class = value(ua.NodeClass.Variable, ua.VariantType.Int32)
    assert shared(node_class) is shared(value(ua.NodeClass.Variable, ua.VariantType.Int32))
    array = value([1.0, 2.0], ua.VariantType.Double)
    assert shared(array) is array
    own_id = value(ua.NodeId("Machines/m1", 2), ua.VariantType.NodeId)
    assert shared(own_id) is own_id


async def test_nodes_share_equal_attributes_and_writes_stay_their_own() -> None:
    assert install_patch(PATCH)
    server = Server()  # its address space only: nothing listens
    await server.init()
    folder = await server.nodes.objects.add_folder(2, "Shared")
    a = await folder.add_variable(2, "a", 1.5)
    b = await folder.add_variable(2, "b", 1.5)
    nodes = server.iserver.aspace._nodes
    access = ua.AttributeIds.AccessLevel
    assert nodes[a.nodeid].attributes[access].value is nodes[b.nodeid].attributes[access].value
    values = ua.AttributeIds.Value
    assert nodes[a.nodeid].attributes[values].datachange_callbacks is NO_CALLBACKS
    seen: list[object] = []

    async def changed(_handle: int, written: ua.DataValue) -> None:
        seen.append(written.Value.Value)

    server.iserver.aspace.add_datachange_callback(a.nodeid, values, changed)
    assert nodes[b.nodeid].attributes[values].datachange_callbacks is NO_CALLBACKS
    await a.write_value(7.0)
    assert seen == [7.0]
    assert await a.read_value() == 7.0
    assert await b.read_value() == 1.5
    assert await b.read_browse_name() == ua.QualifiedName("b", 2)
