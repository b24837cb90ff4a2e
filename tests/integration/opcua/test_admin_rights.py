"""The admin role through a real client: AssetId only, never the address space's structure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.ua.uaerrors import BadUserAccessDenied

from opcua_server.server import TrustfloorServer
from tests.support import (
    NAMESPACE_URI,
    call_method,
    secure_client,
    site_settings,
    text,
    trusted_client_certificate,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

MACHINE = "Machines/mill-1"
REFUSED_WRITES = {
    f"{MACHINE}/spindle_temp": ua.Variant(150.0, ua.VariantType.Double),
    f"{MACHINE}/Health/RemainingUsefulLife": ua.Variant(99999.0, ua.VariantType.Double),
    f"{MACHINE}/Health/HealthState": ua.Variant("normal", ua.VariantType.String),
}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TrustfloorServer]:
    running = TrustfloorServer(site_settings(tmp_path_factory.mktemp("admin"), machines=1))
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
def client_cert(
    server: TrustfloorServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    return trusted_client_certificate(
        server.pki.trusted, tmp_path_factory.mktemp("client"), "admin-test-client"
    )


async def site_node(client: Client, identifier: str) -> ua.NodeId:
    return ua.NodeId(identifier, await client.get_namespace_index(NAMESPACE_URI))


async def write(client: Client, node: ua.NodeId, value: ua.Variant) -> ua.StatusCode:
    """One Write of ``value`` to ``node``; the status as the server answered it."""
    params = ua.WriteParameters()
    params.NodesToWrite = [
        ua.WriteValue(NodeId=node, AttributeId=ua.AttributeIds.Value, Value=ua.DataValue(value))
    ]
    results: list[ua.StatusCode] = await client.uaclient.write(params)
    return results[0]


async def current(client: Client, node: ua.NodeId) -> tuple[ua.Variant, ua.StatusCode]:
    """The value and status a node holds (telemetry may still wait for its first reading)."""
    value = await client.get_node(node).read_data_value(raise_on_bad_status=False)
    return value.Value, value.StatusCode


def audited(server: TrustfloorServer, action: str, target: str) -> list[tuple[str, str, str]]:
    return [
        (entry.user, entry.role, entry.result)
        for entry in server.audit.entries()
        if entry.action == action and entry.target == target
    ]


async def test_admin_writes_the_asset_id(
    server: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(server.endpoint, client_cert, "admin") as admin:
        asset = await site_node(admin, f"{MACHINE}/Identification/AssetId")
        status = await write(admin, asset, ua.Variant("ASSET-42", ua.VariantType.String))
        assert status.is_good()
        assert await admin.get_node(asset).read_value() == "ASSET-42"


async def test_admin_writes_nothing_else(
    server: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(server.endpoint, client_cert, "admin") as admin:
        for identifier, value in REFUSED_WRITES.items():
            node = await site_node(admin, identifier)
            before = await current(admin, node)
            status = await write(admin, node, value)
            assert status.value == ua.StatusCodes.BadUserAccessDenied, identifier
            assert await current(admin, node) == before, identifier
        state = admin.nodes.server_state.nodeid
        shutdown = ua.Variant(ua.ServerState.Shutdown, ua.VariantType.Int32)
        assert (await write(admin, state, shutdown)).value == ua.StatusCodes.BadUserAccessDenied
        assert await admin.nodes.server_state.read_value() == ua.ServerState.Running


async def test_admin_writes_no_attribute_but_the_asset_ids_value(
    server: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    async with await secure_client(server.endpoint, client_cert, "admin") as admin:
        asset = admin.get_node(await site_node(admin, f"{MACHINE}/Identification/AssetId"))
        with pytest.raises(BadUserAccessDenied):
            await asset.write_attribute(
                ua.AttributeIds.AccessLevel,
                ua.DataValue(ua.Variant(0, ua.VariantType.Byte)),
            )
        with pytest.raises(BadUserAccessDenied):
            await asset.write_attribute(
                ua.AttributeIds.DisplayName,
                ua.DataValue(ua.Variant(ua.LocalizedText("x"), ua.VariantType.LocalizedText)),
            )
        assert (await asset.read_display_name()).Text == "AssetId"


async def test_no_client_adds_or_deletes_nodes_and_each_refusal_is_audited(
    server: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    for user in ("admin", "mes"):
        async with await secure_client(server.endpoint, client_cert, user) as client:
            cancel = client.get_node(await site_node(client, "PrintOrders/CancelPrintOrder"))
            machine = client.get_node(await site_node(client, MACHINE))
            with pytest.raises(BadUserAccessDenied):
                await client.delete_nodes([cancel])
            with pytest.raises(BadUserAccessDenied):
                await client.nodes.objects.add_object(
                    await site_node(client, "Intruder"), "Intruder"
                )
            with pytest.raises(BadUserAccessDenied):
                await machine.add_reference(cancel.nodeid, ua.ObjectIds.Organizes)
            with pytest.raises(BadUserAccessDenied):
                await machine.delete_reference(
                    await site_node(client, f"{MACHINE}/Health"), ua.ObjectIds.HasAddIn
                )
        for service in ("DeleteNodes", "AddNodes", "AddReferences", "DeleteReferences"):
            refusals = audited(server, "node_management", service)
            assert (user, user, "BadUserAccessDenied") in refusals, service
    deleted = [e for e in server.audit.entries() if e.target == "DeleteNodes"]
    assert "PrintOrders/CancelPrintOrder" in deleted[-1].detail
    async with await secure_client(server.endpoint, client_cert, "mes") as mes:
        with pytest.raises(ua.uaerrors.BadNotSupported):  # still served: no order book here
            await call_method(mes, "PrintOrders", "CancelPrintOrder", text("no-such-order"))


async def test_the_server_still_changes_its_own_address_space(server: TrustfloorServer) -> None:
    assert server.namespaces is not None
    node = await server.ua_server.nodes.objects.add_object(server.namespaces.site, "Scratch")
    await server.ua_server.delete_nodes([node])
    with pytest.raises(ua.UaStatusCodeError):
        await node.read_browse_name()
