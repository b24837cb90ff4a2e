"""Memory patches: nodes share attribute values and reference parts; every answer is asyncua's."""

from __future__ import annotations

import subprocess
import sys

import pytest
import pytest_asyncio
from asyncua import Server, ua

from opcua_server.fastpath import install_patch, nodeset_code, sharing
from opcua_server.fastpath import references as shared_references
from opcua_server.model.nodes import NodeBuilder

# Builds an address space like a site's (standard nodes, a machine object, analog items with
# engineering units and a range, properties), changes it the ways asyncua can (a DisplayName
# write that renames references, set_writable, a value callback, a data-change callback), and
# prints a digest of every node's attributes (times left out) and references.
ADDRESS_SPACE_DIGEST = """
import asyncio, hashlib, sys
from asyncua import Server, ua
from opcua_server.fastpath import install_patch, nodeset_code, references, sharing
from opcua_server.model.nodes import NodeBuilder

async def digest() -> str:
    if sys.argv[1] == "patched":
        for patch in (sharing.PATCH, references.PATCH, nodeset_code.PATCH):
            assert install_patch(patch)
    server = Server()
    await server.init()
    ns = await server.register_namespace("urn:trustfloor:test")
    build = NodeBuilder(server, ns)
    machines = await build.folder(ua.NodeId(ua.ObjectIds.ObjectsFolder), "Machines", "Machines")
    for m in range(3):
        machine = await build.obj(machines, f"Machines/m{m}", f"m{m}", display=f"Machine {m}")
        for t in range(3):
            tag = await build.analog_item(
                machine, ua.NodeId(f"Machines/m{m}/t{t}", ns), f"t{t}", "speed [mm/s]",
                historizing=True,
            )
            units = ua.EUInformation(UnitId=4403510, DisplayName=ua.LocalizedText("mm/s"))
            await build.prop(tag, f"Machines/m{m}/t{t}/EngineeringUnits",
                             ua.QualifiedName("EngineeringUnits", 0), units)
            await build.prop(tag, f"Machines/m{m}/t{t}/EURange",
                             ua.QualifiedName("EURange", 0), ua.Range(0.0, 10.0))
        await build.prop(machine, f"Machines/m{m}/Serial", "SerialNumber", f"S{m}", writable=True)
    aspace = server.iserver.aspace
    renamed = ua.NodeId("Machines/m1", ns)
    await aspace.write_attribute_value(
        renamed, ua.AttributeIds.DisplayName, ua.DataValue(ua.Variant(ua.LocalizedText("Press")))
    )
    await server.get_node(ua.NodeId("Machines/m2/t1", ns)).set_writable()
    aspace.set_attribute_value_callback(
        ua.NodeId("Machines/m0/t2", ns), ua.AttributeIds.Description,
        lambda nodeid, attr: ua.DataValue(ua.Variant(ua.LocalizedText("called"))),
    )
    async def changed(handle, value): pass
    aspace.add_datachange_callback(ua.NodeId("Machines/m1/t1", ns), ua.AttributeIds.NodeId,
                                   changed)
    aspace.add_datachange_callback(ua.NodeId("Machines/m0/t0", ns), ua.AttributeIds.AccessLevel,
                                   changed)
    lines = []
    for nodeid in sorted(aspace._nodes, key=lambda n: n.to_string()):
        node = aspace._nodes[nodeid]
        for attr in sorted(node.attributes):
            dv = aspace.read_attribute_value(nodeid, attr)
            line = f"{nodeid.to_string()} {attr!r} {dv.Value!r} {dv.StatusCode!r}"
            if "datetime.datetime(" not in line:  # the server's start and build times
                lines.append(line)
        lines.extend(f"{nodeid.to_string()} {ref!r}" for ref in node.references)
    return hashlib.sha256("\\n".join(lines).encode()).hexdigest()

print(asyncio.run(digest()))
"""


def address_space_digest(mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", ADDRESS_SPACE_DIGEST, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip().splitlines()[-1]


def test_the_patched_address_space_answers_exactly_as_asyncuas_own() -> None:
    assert address_space_digest("patched") == address_space_digest("plain")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def built() -> tuple[Server, ua.NodeId, ua.NodeId]:
    assert install_patch(sharing.PATCH)
    assert install_patch(shared_references.PATCH)
    server = Server()  # its address space only: nothing listens
    await server.init()
    build = NodeBuilder(server, 2)
    folder = await build.folder(ua.NodeId(ua.ObjectIds.ObjectsFolder), "Shared", "Shared")
    a = await build.variable(folder, "Shared/a", "a", 1.5)
    b = await build.variable(folder, "Shared/b", "b", 1.5)
    return server, a, b


async def test_equal_attributes_of_two_nodes_are_one_read_only_object(
    built: tuple[Server, ua.NodeId, ua.NodeId],
) -> None:
    server, a, b = built
    nodes = server.iserver.aspace._nodes
    access = ua.AttributeIds.AccessLevel
    held = nodes[a].attributes[access]
    assert held is nodes[b].attributes[access]
    assert type(held) is sharing.SharedAttributeValue
    with pytest.raises(AttributeError, match="many nodes share"):
        held.value = ua.DataValue(ua.Variant(0, ua.VariantType.Byte))
    assert (
        nodes[a].attributes[ua.AttributeIds.Value] is not nodes[b].attributes[ua.AttributeIds.Value]
    )
    node_id = ua.AttributeIds.NodeId
    assert nodes[a].attributes[node_id] is nodes[b].attributes[node_id]
    read = server.iserver.aspace.read_attribute_value(ua.NodeId("Shared/a", 2), node_id)
    assert read.Value == ua.Variant(a, ua.VariantType.NodeId)
    assert read.Value.Value is nodes[a].nodeid


async def test_a_change_to_a_shared_attribute_reaches_only_its_node(
    built: tuple[Server, ua.NodeId, ua.NodeId],
) -> None:
    server, a, b = built
    await server.get_node(a).set_writable()
    access = ua.AttributeIds.AccessLevel
    aspace = server.iserver.aspace
    assert aspace.read_attribute_value(a, access).Value.Value & ua.AccessLevel.CurrentWrite.mask
    assert not aspace.read_attribute_value(b, access).Value.Value & ua.AccessLevel.CurrentWrite.mask
    description = ua.AttributeIds.Description
    aspace.set_attribute_value_callback(
        b, description, lambda *_: ua.DataValue(ua.Variant(ua.LocalizedText("called")))
    )
    assert aspace.read_attribute_value(b, description).Value.Value == ua.LocalizedText("called")
    assert aspace.read_attribute_value(a, description).Value.Value == ua.LocalizedText()


async def test_references_share_their_type_ids_and_hold_the_nodes_names(
    built: tuple[Server, ua.NodeId, ua.NodeId],
) -> None:
    server, a, b = built
    nodes = server.iserver.aspace._nodes

    def type_definition(node: ua.NodeId) -> ua.ReferenceDescription:
        (ref,) = [
            r
            for r in nodes[node].references
            if r.ReferenceTypeId == ua.NodeId(40)  # HasTypeDef.
        ]
        return ref

    assert type_definition(a) is type_definition(b)
    (to_a,) = [r for r in nodes[ua.NodeId("Shared", 2)].references if r.NodeId == a]
    assert to_a.BrowseName is nodes[a].attributes[ua.AttributeIds.BrowseName].value.Value.Value
    assert to_a.BrowseName == ua.QualifiedName("a", 2)


async def test_the_standard_nodes_code_is_released_and_a_second_server_builds_them_again() -> None:
    assert install_patch(nodeset_code.PATCH)
    counts = []
    for _ in range(2):
        server = Server()
        await server.init()
        assert nodeset_code.generated_modules() == []
        counts.append(len(server.iserver.aspace._nodes))
    assert counts[0] == counts[1] > 6000


async def test_variables_waiting_for_data_hold_one_value_until_written(
    built: tuple[Server, ua.NodeId, ua.NodeId],
) -> None:
    server, a, b = built
    for node in (a, b):
        await sharing.set_first_value(server, node, sharing.WAITING_FOR_INITIAL_DATA)
    aspace = server.iserver.aspace
    value = ua.AttributeIds.Value
    assert aspace.read_attribute_value(a, value) is aspace.read_attribute_value(b, value)
    waiting = aspace.read_attribute_value(b, value)
    assert waiting.StatusCode == ua.StatusCode(ua.StatusCodes.BadWaitingForInitialData)
    assert waiting.Value == ua.Variant(None, ua.VariantType.Null)
    await server.write_attribute_value(a, ua.DataValue(ua.Variant(2.5, ua.VariantType.Double)))
    assert aspace.read_attribute_value(a, value).Value.Value == 2.5
    assert aspace.read_attribute_value(b, value) is sharing.WAITING_FOR_INITIAL_DATA
