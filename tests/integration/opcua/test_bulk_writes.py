"""Bulk value writes leave every variable as asyncua's own write_attribute_value leaves it."""

from __future__ import annotations

from datetime import UTC, datetime

from asyncua import Server, ua

from opcua_server.fastpath import install_patch
from opcua_server.fastpath.bulk import PATCH, data_value, scalar_variant, write_values

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SERVER_NOW = datetime(2026, 12, 7, 12, 0, 1, tzinfo=UTC)


def test_built_values_equal_the_constructed_ones() -> None:
    built = data_value(scalar_variant(2.5, ua.VariantType.Double), 0, NOW, SERVER_NOW)
    made = ua.DataValue(
        ua.Variant(2.5, ua.VariantType.Double),
        StatusCode=ua.StatusCode(0),
        SourceTimestamp=NOW,
        ServerTimestamp=SERVER_NOW,
    )
    assert built == made
    assert repr(built) == repr(made)


def writes_of(nodes: list[ua.NodeId], unknown: ua.NodeId) -> list[tuple[ua.NodeId, ua.DataValue]]:
    """A good number, a Bad value (nulled), a string into a Double (refused), an unknown node."""
    good, bad, wrong = nodes
    return [
        (good, data_value(scalar_variant(4.5, ua.VariantType.Double), 0, NOW, SERVER_NOW)),
        (
            bad,
            data_value(
                scalar_variant(7.0, ua.VariantType.Double),
                ua.StatusCodes.BadCommunicationError,
                NOW,
                SERVER_NOW,
            ),
        ),
        (wrong, data_value(scalar_variant("x", ua.VariantType.String), 0, NOW, SERVER_NOW)),
        (unknown, data_value(scalar_variant(1.0, ua.VariantType.Double), 0, NOW, SERVER_NOW)),
    ]


async def test_bulk_writes_equal_one_by_one_writes_and_reach_subscribers() -> None:
    server = Server()  # its address space only: the writes are in process, nothing listens
    await server.init()
    assert install_patch(PATCH)
    folder = await server.nodes.objects.add_folder(2, "Bulk")
    one_by_one = [(await folder.add_variable(2, f"a{n}", 0.0)).nodeid for n in range(3)]
    bulk = [(await folder.add_variable(2, f"b{n}", 0.0)).nodeid for n in range(3)]
    unknown = ua.NodeId("nowhere", 2)
    seen: list[ua.DataValue] = []

    async def changed(_handle: int, value: ua.DataValue) -> None:
        seen.append(value)

    server.iserver.aspace.add_datachange_callback(bulk[0], ua.AttributeIds.Value, changed)
    for node_id, value in writes_of(one_by_one, unknown):
        await server.write_attribute_value(node_id, value)
    await write_values(server, writes_of(bulk, unknown))

    aspace = server.iserver.aspace
    expected = [aspace.read_attribute_value(n, ua.AttributeIds.Value) for n in one_by_one]
    stored = [aspace.read_attribute_value(n, ua.AttributeIds.Value) for n in bulk]
    assert stored[:2] == expected[:2]  # the third keeps its initial value (and creation time)
    assert [v.Value.Value for v in stored] == [4.5, None, 0.0]
    assert [v.Value.Value for v in seen] == [4.5]
