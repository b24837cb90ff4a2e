"""A type-aware client finds machines and printers the way OPC 40001-1 intends: by type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from asyncua.common.node import Node

from models import PrinterJobState, PrinterStatus
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


AM = "http://opcfoundation.org/UA/AdditiveManufacturing/"
MACHINE_TOOL = "http://opcfoundation.org/UA/MachineTool/"
MACHINERY_OPERATION_COUNTER_TYPE = 1009


async def _read(node: Node, *path: str) -> Any:
    return await (await node.get_child(list(path))).read_value()


async def test_a_printer_shows_its_build_feedstock_and_counters_after_opc_40540(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    assert site.server.address_space is not None
    assert site.server.namespaces is not None
    printer = site.settings.site.printers[0]
    before = site.server.address_space.additive.count(printer.id).cycles
    for status in (
        PrinterStatus(id=printer.id, material_lot="LOT-7", job_id="J-1", layers_planned=40),
        PrinterStatus(
            id=printer.id,
            job_state=PrinterJobState.PRINTING,
            current_layer=12,
            layers_planned=40,
            material_lot="LOT-7",
            job_id="J-1",
        ),
    ):
        await site.server.address_space.apply_printer(status)
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        am = await client.get_namespace_index(AM)
        machinery = await client.get_namespace_index(MACHINERY)
        di = await client.get_namespace_index(DI)
        tool = await client.get_namespace_index(MACHINE_TOOL)
        node = (await _machines_by_identification(client))[printer.id]
        assert await _read(node, f"{di}:Identification", f"{am}:AMTechnologyIdentifier") == (
            printer.am_technology
        )
        feedstock = [f"{tool}:Equipment", f"{am}:Feedstock", f"{site.server.namespaces.site}:Main"]
        assert await _read(node, *feedstock, f"{am}:Identifier") == "LOT-7"
        assert await _read(node, *feedstock, f"{am}:ReadyForProduction") is True
        run = [f"{am}:RunInfo"]
        assert await _read(node, *run, f"{am}:CurrentLayer") == 12
        assert await _read(node, *run, f"{am}:State") == "Running"
        assert await _read(node, *run, f"{am}:Identifier") == "J-1"
        counters = await node.get_child([f"{di}:OperationCounters"])
        assert await counters.read_type_definition() == ua.NodeId(
            MACHINERY_OPERATION_COUNTER_TYPE, machinery
        )
        assert await _read(counters, f"{di}:OperationCycleCounter") == before + 1
    await site.server.address_space.apply_printer(
        PrinterStatus(id=printer.id, job_state=PrinterJobState.COMPLETED, job_id="J-1")
    )
    kept = json.loads((Path(site.settings.data_dir) / "written_values.json").read_text())
    assert kept[f"{printer.id}/OperationCounters"].split()[0] == str(before + 1)
