"""What clients wrote and what the server recorded survives a restart of the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncua import ua

from opcua_server.runtime.site import Site
from tests.support import make_client_certificate, secure_client, site_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

DI = "http://opcfoundation.org/UA/DI/"


async def start_site(data_dir: Path) -> Site:
    site = Site(site_settings(data_dir, machines=1))
    await site.start()
    return site


async def write_or_read_asset_id(site: Site, cert: tuple[Path, Path], value: str | None) -> str:
    assert site.server is not None
    client = await secure_client(site.server.endpoint, cert, "operator")
    async with client:
        di = await client.get_namespace_index(DI)
        site_ns = await client.get_namespace_index("urn:trustfloor:site")
        node = client.get_node(ua.NodeId("Machines/mill-1/Identification/AssetId", site_ns))
        assert (await node.read_browse_name()).NamespaceIndex == di
        if value is not None:
            await node.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.String)))
        return str(await node.read_value())


async def test_asset_id_and_audit_survive_a_restart(tmp_path: Path) -> None:
    cert = make_client_certificate(tmp_path / "client")
    first = await start_site(tmp_path / "var")
    try:
        assert first.server is not None
        (first.server.pki.trusted / "client.der").write_bytes(cert[0].read_bytes())
        assert await write_or_read_asset_id(first, cert, "PLANT7-MILL-0001") == "PLANT7-MILL-0001"
    finally:
        await first.stop()
    second = await start_site(tmp_path / "var")
    try:
        assert await write_or_read_asset_id(second, cert, None) == "PLANT7-MILL-0001"
        assert second.server is not None
        writes = [e for e in second.server.audit.entries() if e.action == "write"]
        assert writes[-1].detail == "'PLANT7-MILL-0001'"
        assert writes[-1].user == "operator"
    finally:
        await second.stop()
