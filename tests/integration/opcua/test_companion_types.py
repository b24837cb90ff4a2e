"""A type-aware client finds machines and printers the way OPC 40001-1 intends: by type."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.common.node import Node

from opcua_server.runtime.site import Site
from tests.support import secure_client, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

MACHINERY = "http://opcfoundation.org/UA/Machinery/"
DI = "http://opcfoundation.org/UA/DI/"
MACHINES_FOLDER = 1001
MACHINE_IDENTIFICATION_TYPE = 1012
MACHINERY_ITEM_STATE_TYPE = 1002


async def _machines_by_identification(client: Client) -> dict[str, Node]:
    """Every object under the Machines folder whose Identification is MachineIdentificationType."""
    machinery = await client.get_namespace_index(MACHINERY)
    di = await client.get_namespace_index(DI)
    folder = client.get_node(ua.NodeId(MACHINES_FOLDER, machinery))
    found: dict[str, Node] = {}
    for machine in await folder.get_children(refs=ua.ObjectIds.Organizes):
        ident = await machine.get_child([f"{di}:Identification"])
        if await ident.read_type_definition() == ua.NodeId(MACHINE_IDENTIFICATION_TYPE, machinery):
            found[(await machine.read_browse_name()).Name] = machine
    return found


async def test_every_machine_and_printer_is_in_the_machinery_machines_folder(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    settings = site.settings.site
    expected = {m.id for m in [*settings.machines, *settings.opcua_machines, *settings.printers]}
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        found = await _machines_by_identification(client)
        assert set(found) == expected
        assert settings.printers


async def test_identification_and_state_carry_their_types_and_mandatory_properties(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    printer = site.settings.site.printers[0].id
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        machinery = await client.get_namespace_index(MACHINERY)
        di = await client.get_namespace_index(DI)
        for machine in (await _machines_by_identification(client)).values():
            ident = await machine.get_child([f"{di}:Identification"])
            for name in ("Manufacturer", "SerialNumber", "ProductInstanceUri"):
                await (await ident.get_child([f"{di}:{name}"])).read_value()
            state = await machine.get_child([f"{machinery}:MachineryItemState"])
            assert await state.read_type_definition() == ua.NodeId(
                MACHINERY_ITEM_STATE_TYPE, machinery
            )
            current = await state.get_child(["0:CurrentState"])
            state_id = await (await current.get_child(["0:Id"])).read_value()
            assert state_id.NamespaceIndex == machinery
        printer_state = await (await _machines_by_identification(client))[printer].get_child(
            [f"{machinery}:MachineryItemState", "0:CurrentState"]
        )
        answering = await wait_for(
            printer_state.read_value,
            lambda value: value.Text != "NotAvailable",
            timeout_s=20,
            poll_s=0.2,
        )
        assert answering.Text in {"NotExecuting", "Executing"}, (
            "a printer that answers is available"
        )


async def test_identification_state_and_health_are_add_ins_of_the_machine(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        mill = (await _machines_by_identification(client))["mill-1"]
        add_ins = await mill.get_referenced_nodes(
            refs=ua.ObjectIds.HasAddIn, direction=ua.BrowseDirection.Forward, includesubtypes=False
        )
        names = {(await node.read_browse_name()).Name for node in add_ins}
        assert names == {"Identification", "MachineryItemState", "Health"}
