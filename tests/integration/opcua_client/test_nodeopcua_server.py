"""OPC UA client connector against node-opcua, an independent server: quality, restart, writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from connectors.opcua_client import OpcUaConnector
from models import Cause, Quality, SystemClock
from tests.integration.opcua_client.opcua_client_kit import (
    CollectingSink,
    NodeOpcUaServer,
    fast_backoff,
    machine,
    running,
    tag,
)
from tests.support import free_port

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.interop]

PEER_TAGS = ("Counter", "Setpoint", "Running", "Mode", "Drifting", "Broken")


@pytest.fixture(scope="module")
def peer_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PKI folder for every peer of the module: node-opcua makes its certificate once."""
    return tmp_path_factory.mktemp("nodeopcua-pki")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def peer(peer_pki: Path) -> AsyncIterator[NodeOpcUaServer]:
    async with NodeOpcUaServer(free_port(), peer_pki) as server:
        yield server


def connector_for(peer: NodeOpcUaServer) -> OpcUaConnector:
    tags = [tag(name.lower(), peer.node_id(name)) for name in PEER_TAGS]
    return OpcUaConnector(machine(peer.url, tags), SystemClock(), backoff=fast_backoff())


async def test_subscribed_values_and_statuses_of_an_independent_server(
    peer: NodeOpcUaServer,
) -> None:
    sink = CollectingSink()
    async with running(connector_for(peer), sink):
        first = await sink.good("counter")
        later = await sink.wait_for(
            lambda r: r.tag == "counter" and r.value != first.value, what="a counter change"
        )
        running_ = await sink.good("running")
        mode = await sink.good("mode")
        drifting = await sink.wait_for(lambda r: r.tag == "drifting", what="drifting")
        broken = await sink.wait_for(lambda r: r.tag == "broken", what="broken")
    assert isinstance(later.value, float)
    assert isinstance(first.value, float)
    assert later.value > first.value
    assert later.source_ts >= first.source_ts
    assert abs((datetime.now(UTC) - later.source_ts).total_seconds()) < 3600
    assert running_.value is True
    assert mode.value == "auto"
    assert (drifting.quality, drifting.value, drifting.reason) == (
        Quality.UNCERTAIN,
        42.0,
        "UncertainLastUsableValue",
    )
    assert (broken.quality, broken.cause, broken.reason) == (
        Quality.BAD,
        Cause.DEVICE_EXCEPTION,
        "BadSensorFailure",
    )


async def test_writes_carry_no_timestamps_so_a_strict_server_accepts_them(
    peer: NodeOpcUaServer,
) -> None:
    sink = CollectingSink()
    connector = connector_for(peer)
    async with running(connector, sink):
        await sink.good("setpoint")
        await connector.write("setpoint", 17.25)
        echoed = await sink.good("setpoint", value=17.25)
    assert echoed.quality is Quality.GOOD
    async with Client(peer.url) as control:  # the peer does refuse a timestamped write
        ns = await control.get_namespace_index(NodeOpcUaServer.NAMESPACE)
        node = control.get_node(ua.NodeId("Setpoint", ns))
        stamped = ua.DataValue(
            ua.Variant(1.0, ua.VariantType.Double), SourceTimestamp=datetime.now(UTC)
        )
        with pytest.raises(ua.UaStatusCodeError, match="BadWriteNotSupported"):
            await node.write_value(stamped)


async def test_a_crashed_server_reads_bad_until_it_is_back_then_resubscribed(
    peer_pki: Path,
) -> None:
    server = NodeOpcUaServer(free_port(), peer_pki)
    sink = CollectingSink()
    connector = connector_for(server)
    await server.start()
    try:
        async with running(connector, sink):
            await sink.good("counter")
            await server.kill()
            down = await sink.wait_for(
                lambda r: r.tag == "counter" and r.cause is Cause.COMMUNICATION, what="bad"
            )
            lost_at = sink.readings.index(down)
            await sink.wait_for(
                lambda r: r.tag == "counter" and r.cause is Cause.COMMUNICATION,
                after=lost_at + 1,
                what="bad again at the next attempt",
            )
            await server.start()
            back = await sink.good("counter", after=lost_at)
            await sink.wait_for(
                lambda r: (
                    r.tag == "counter" and r.quality is Quality.GOOD and r.value != back.value
                ),
                after=sink.readings.index(back) + 1,
                what="counter moving again (the subscription is alive)",
            )
    finally:
        await server.kill()
    assert down.quality is Quality.BAD
    assert connector.sessions == 2
    outage = sink.readings[lost_at : sink.readings.index(back)]
    assert {r.tag for r in outage if r.cause is Cause.COMMUNICATION} == {
        name.lower() for name in PEER_TAGS
    }


async def test_sign_and_encrypt_with_a_username_against_node_opcua(
    peer_pki: Path, tmp_path: Path
) -> None:
    server = NodeOpcUaServer(free_port(), peer_pki, secure=True, user="plc", password="n0de-secret")
    config = machine(
        server.url,
        [tag("counter", server.node_id("Counter"))],
        security_policy="Basic256Sha256",
        security_mode="SignAndEncrypt",
        username="plc",
        password_env="PLC_PASSWORD",
    )
    connector = OpcUaConnector(
        config,
        SystemClock(),
        environ={"PLC_PASSWORD": "n0de-secret"},
        pki_dir=tmp_path / "client-pki",
    )
    sink = CollectingSink()
    async with server, running(connector, sink):
        reading = await sink.good("counter")
    assert isinstance(reading.value, float)
