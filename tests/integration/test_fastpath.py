"""The OPC UA fast path through real clients: values, status codes and timestamps stay right."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua

from models import Cause, Reading, bad, good, uncertain
from opcua_server.fastpath import install_fast_path, quiet_startup, thaw
from opcua_server.server import TrustfloorServer
from tests.support import (
    NAMESPACE_URI,
    PASSWORDS,
    make_client_certificate,
    node_client_trusted,
    secure_client,
    site_settings,
    wait_until,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

MACHINE = "mill-1"
TAGS = ("spindle_temp", "vibration_rms", "motor_current", "spindle_speed")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TrustfloorServer]:
    """The site's server with the fast path, started the way TrustfloorServer should start."""
    settings = site_settings(
        tmp_path_factory.mktemp("fastpath"),
        machines=1,
        allow_insecure=True,
        security_policies=["None", "Basic256Sha256"],
    )
    running = TrustfloorServer(settings)
    install_fast_path(running.ua_server)
    with quiet_startup():
        await running.start()
    yield running
    await running.stop()
    thaw()


@asynccontextmanager
async def client_of(server: TrustfloorServer) -> AsyncIterator[Client]:
    """An asyncua client on the None policy, logged in as the MES user."""
    client = Client(server.endpoint, timeout=10)
    client.set_user("mes")
    client.set_password(PASSWORDS["mes"])
    await client.connect()
    try:
        yield client
    finally:
        await client.disconnect()


def moment(offset_ms: int = 0) -> datetime:
    """A source timestamp with microseconds, which OPC UA's 100 ns DateTime keeps."""
    return datetime(2026, 11, 22, 8, 30, 15, 123456, tzinfo=UTC) + timedelta(milliseconds=offset_ms)


def node_of(server: TrustfloorServer, tag: str) -> ua.NodeId:
    assert server.address_space is not None
    return server.address_space.node_id(MACHINE, tag)


async def stored(server: TrustfloorServer, tag: str) -> ua.DataValue:
    """The DataValue the server holds, read in process (asyncua's own path)."""
    node = server.ua_server.get_node(node_of(server, tag))
    value: ua.DataValue = await node.read_data_value(raise_on_bad_status=False)
    return value


async def read_all(client: Client, nodes: list[ua.NodeId]) -> list[ua.DataValue]:
    """One Read call for every node, status codes as they come (no raising on Bad)."""
    params = ua.ReadParameters()
    for node in nodes:
        params.NodesToRead.append(ua.ReadValueId(node, ua.AttributeIds.Value))
    values: list[ua.DataValue] = await client.uaclient.read(params)
    return values


def same(received: ua.DataValue, expected: ua.DataValue) -> bool:
    return bool(
        received.Value == expected.Value
        and received.StatusCode == expected.StatusCode
        and received.SourceTimestamp == expected.SourceTimestamp
        and received.ServerTimestamp == expected.ServerTimestamp
    )


class Received:
    """The DataValues a subscription delivered, in order (and by node)."""

    def __init__(self) -> None:
        self.values: list[ua.DataValue] = []
        self.nodes: list[ua.NodeId] = []

    def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
        self.values.append(data.monitored_item.Value)
        self.nodes.append(node.nodeid)

    def of(self, node: ua.NodeId) -> list[ua.DataValue]:
        return [v for v, n in zip(self.values, self.nodes, strict=True) if n == node]


def mixed_readings(offset_ms: int = 0) -> list[Reading]:
    ts = moment(offset_ms)
    return [
        good(MACHINE, "spindle_temp", ts, 42.5 + offset_ms),
        uncertain(MACHINE, "vibration_rms", ts, 30.0, Cause.OUT_OF_RANGE, "above eu_high"),
        bad(MACHINE, "motor_current", ts, Cause.COMMUNICATION, "timeout"),
        good(MACHINE, "spindle_speed", ts, 12000),
    ]


async def test_reads_return_what_was_published_with_status_and_timestamps(
    server: TrustfloorServer,
) -> None:
    await server.publish(mixed_readings())
    nodes = [node_of(server, tag) for tag in TAGS]
    async with client_of(server) as client:
        for _ in range(2):  # the second Read is answered from the encoded-value cache
            received = await read_all(client, nodes)
            expected = [await stored(server, tag) for tag in TAGS]
            assert all(same(r, e) for r, e in zip(received, expected, strict=True))
    temp, vibration, current, speed = received
    assert temp.Value == ua.Variant(42.5, ua.VariantType.Double)
    assert temp.SourceTimestamp == moment()
    assert vibration.StatusCode == ua.StatusCode(ua.StatusCodes.UncertainEngineeringUnitsExceeded)
    assert vibration.Value.Value == 30.0
    assert current.StatusCode == ua.StatusCode(ua.StatusCodes.BadCommunicationError)
    assert current.Value.Value is None
    assert speed.Value == ua.Variant(12000.0, ua.VariantType.Double)


async def test_a_read_after_a_new_reading_sees_the_new_value(server: TrustfloorServer) -> None:
    async with client_of(server) as client:
        node = client.get_node(node_of(server, "spindle_temp"))
        await server.publish([good(MACHINE, "spindle_temp", moment(1), 50.0)])
        assert (await node.read_data_value()).Value.Value == 50.0
        await server.publish([good(MACHINE, "spindle_temp", moment(2), 51.0)])
        value = await node.read_data_value()
    assert value.Value.Value == 51.0
    assert value.SourceTimestamp == moment(2)


async def test_an_item_with_queue_size_one_gets_the_latest_value_of_each_publish(
    server: TrustfloorServer,
) -> None:
    received = Received()
    async with client_of(server) as client:
        subscription = await client.create_subscription(50, received)
        node = client.get_node(node_of(server, "spindle_temp"))
        await subscription.subscribe_data_change([node], queuesize=1)
        await wait_until(lambda: len(received.values) == 1)  # the current value
        for offset in (10, 20, 30):
            await server.publish([good(MACHINE, "spindle_temp", moment(offset), float(offset))])
        await wait_until(lambda: received.values[-1].Value.Value == 30.0)
        await subscription.delete()
    latest = received.values[-1]
    assert latest.StatusCode == ua.StatusCode(ua.StatusCodes.Good)
    assert latest.SourceTimestamp == moment(30)
    assert same(latest, await stored(server, "spindle_temp"))
    assert [v.Value.Value for v in received.values[1:]] in (
        [30.0],
        [10.0, 30.0],
        [10.0, 20.0, 30.0],
    )


async def test_a_value_that_changes_back_within_one_publish_is_not_reported_again(
    server: TrustfloorServer,
) -> None:
    """Queue-size-1 items sample once per publish; a second item's change marks that publish."""
    received = Received()
    sampled, marker = node_of(server, "spindle_speed"), node_of(server, "vibration_rms")
    async with client_of(server) as client:
        await server.publish([good(MACHINE, "spindle_speed", moment(80), 100.0)])
        subscription = await client.create_subscription(50, received)
        await subscription.subscribe_data_change(
            [client.get_node(sampled), client.get_node(marker)], queuesize=1
        )
        await wait_until(lambda: len(received.of(marker)) == 1 and len(received.of(sampled)) == 1)
        await server.publish(
            [
                good(MACHINE, "spindle_speed", moment(81), 200.0),
                good(MACHINE, "spindle_speed", moment(82), 100.0),
                good(MACHINE, "vibration_rms", moment(82), 4.25),
            ]
        )
        await wait_until(lambda: len(received.of(marker)) == 2)  # that publish has been sent
        await server.publish([good(MACHINE, "spindle_speed", moment(83), 300.0)])
        await wait_until(lambda: len(received.of(sampled)) == 2)
        await subscription.delete()
    assert [v.Value.Value for v in received.of(sampled)] == [100.0, 300.0]


async def test_an_item_with_a_longer_queue_gets_every_value_in_order(
    server: TrustfloorServer,
) -> None:
    received = Received()
    async with client_of(server) as client:
        subscription = await client.create_subscription(50, received)
        node = client.get_node(node_of(server, "vibration_rms"))
        await subscription.subscribe_data_change([node], queuesize=10)
        await wait_until(lambda: len(received.values) == 1)
        for offset in (10, 20, 30):
            await server.publish([good(MACHINE, "vibration_rms", moment(offset), offset / 10)])
        await wait_until(lambda: len(received.values) == 4)
        await subscription.delete()
    assert [v.Value.Value for v in received.values[1:]] == [1.0, 2.0, 3.0]
    assert [v.SourceTimestamp for v in received.values[1:]] == [moment(10), moment(20), moment(30)]


async def test_a_lost_device_reaches_subscribers_as_a_bad_status_without_value(
    server: TrustfloorServer,
) -> None:
    received = Received()
    async with client_of(server) as client:
        subscription = await client.create_subscription(50, received)
        node = client.get_node(node_of(server, "motor_current"))
        await server.publish([good(MACHINE, "motor_current", moment(40), 7.5)])
        await subscription.subscribe_data_change([node], queuesize=1)
        await wait_until(lambda: len(received.values) == 1)
        await server.publish([bad(MACHINE, "motor_current", moment(50), Cause.COMMUNICATION, "x")])
        await wait_until(lambda: len(received.values) == 2)
        await subscription.delete()
    first, lost = received.values
    assert first.Value.Value == 7.5
    assert lost.StatusCode == ua.StatusCode(ua.StatusCodes.BadCommunicationError)
    assert lost.Value.Value is None
    assert lost.SourceTimestamp == moment(50)


async def test_reads_over_sign_and_encrypt_are_unchanged(
    server: TrustfloorServer, tmp_path: Path
) -> None:
    cert, key = make_client_certificate(tmp_path)
    (server.pki.trusted / "fastpath-test-client.der").write_bytes(cert.read_bytes())
    await server.publish(mixed_readings(60))
    client = await secure_client(server.endpoint, (cert, key))
    await client.connect()
    try:
        received = await read_all(client, [node_of(server, tag) for tag in TAGS])
    finally:
        await client.disconnect()
    expected = [await stored(server, tag) for tag in TAGS]
    assert all(same(r, e) for r, e in zip(received, expected, strict=True))


@pytest.mark.interop
async def test_node_opcua_decodes_the_fast_encodings(
    server: TrustfloorServer, tmp_path: Path
) -> None:
    """An independent decoder reads and subscribes while the values keep changing."""
    await server.publish(mixed_readings(70))
    ids = [node_of(server, tag).Identifier for tag in TAGS]
    request = {
        "endpoint": server.endpoint,
        "policy": "None",
        "mode": "None",
        "user": "mes",
        "password": PASSWORDS["mes"],
        "pkiDir": str(tmp_path / "node-pki"),
        "namespaceUri": NAMESPACE_URI,
        "nodes": ids,
        "ops": [{"op": "subscribe", "nodes": [ids[0]], "durationMs": 2500}],
    }
    peer = asyncio.create_task(node_client_trusted(request, server.pki.root))
    tick = 0
    while not peer.done():
        tick += 1
        await server.publish([good(MACHINE, "spindle_temp", moment(100 + tick), 1000.0 + tick)])
        await asyncio.sleep(0.05)
    answer = await peer
    assert answer["ok"], answer
    (rounds,) = answer["rounds"]
    assert [v["status"] for v in rounds] == [
        "Good",
        "UncertainEngineeringUnitsExceeded",
        "BadCommunicationError",
        "Good",
    ]
    assert [v["value"] for v in rounds[1:]] == [30.0, None, 12000.0]
    assert rounds[1]["sourceTimestamp"] == "2026-11-22T08:30:15.193Z"
    changes = answer["results"][0]["changes"][ids[0]]
    assert len(changes) >= 2
    assert all(c["status"] == "Good" and c["value"] > 1000.0 for c in changes[1:])
