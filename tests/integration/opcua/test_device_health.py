"""An MES that knows OPC 10000-100 finds each machine's health as DI DeviceHealth (NE 107)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.common.node import Node

from models import HealthScore, HealthState
from opcua_server.server import TrustfloorServer
from tests.support import secure_client, site_settings, trusted_client_certificate

pytestmark = pytest.mark.asyncio(loop_scope="session")

DI = "http://opcfoundation.org/UA/DI/"
MACHINERY = "http://opcfoundation.org/UA/Machinery/"
MACHINES_FOLDER = 1001
DEVICE_HEALTH_ENUMERATION = 6244
I_DEVICE_HEALTH_TYPE = 15051
MAINTENANCE_REQUIRED, CHECK_FUNCTION, NORMAL = 4, 2, 0


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[TrustfloorServer, tuple[Path, Path]]]:
    data_dir = tmp_path_factory.mktemp("device-health")
    server = TrustfloorServer(site_settings(data_dir, machines=1))
    await server.start()
    cert = trusted_client_certificate(server.pki.trusted, data_dir / "client", "health-client")
    try:
        yield server, cert
    finally:
        await server.stop()


async def device_health_of(client: Client, machine: str) -> tuple[Node, Node]:
    """(the machine object, its DI DeviceHealth variable), found by browse names."""
    machinery = await client.get_namespace_index(MACHINERY)
    di = await client.get_namespace_index(DI)
    folder = client.get_node(ua.NodeId(MACHINES_FOLDER, machinery))
    for node in await folder.get_children(refs=ua.ObjectIds.Organizes):
        if (await node.read_browse_name()).Name == machine:
            return node, await node.get_child([f"{di}:DeviceHealth"])
    raise AssertionError(f"no {machine} in the Machines folder")


def score(state: HealthState) -> HealthScore:
    return HealthScore(
        machine="mill-1", ts=datetime(2026, 12, 7, 8, tzinfo=UTC), anomaly_score=3.0, state=state
    )


async def test_each_machine_has_device_health_typed_by_the_di_enumeration(
    served: tuple[TrustfloorServer, tuple[Path, Path]],
) -> None:
    server, cert = served
    async with await secure_client(server.endpoint, cert, "mes") as client:
        di = await client.get_namespace_index(DI)
        machine, health = await device_health_of(client, "mill-1")
        assert await health.read_data_type() == ua.NodeId(DEVICE_HEALTH_ENUMERATION, di)
        assert await health.read_value() == CHECK_FUNCTION  # no verdict before the first score
        interfaces = await machine.get_referenced_nodes(ua.ObjectIds.HasInterface)
        assert [n.nodeid for n in interfaces] == [ua.NodeId(I_DEVICE_HEALTH_TYPE, di)]


async def test_device_health_follows_the_health_state(
    served: tuple[TrustfloorServer, tuple[Path, Path]],
) -> None:
    server, cert = served
    assert server.address_space is not None
    async with await secure_client(server.endpoint, cert, "mes") as client:
        _, health = await device_health_of(client, "mill-1")
        seen = []
        for state in (HealthState.WARNING, HealthState.ALARM, HealthState.NORMAL):
            await server.address_space.apply_health(score(state))
            seen.append(await health.read_value())
    assert seen == [MAINTENANCE_REQUIRED, MAINTENANCE_REQUIRED, NORMAL]
