"""Raw HistoryRead is bounded per node and per request, and pages on with continuation points."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from connectors.historian import SqliteHistorian
from models import Reading, good
from opcua_server.server import ServerPorts, TrustfloorServer
from tests.support import secure_client, site_settings, trusted_client_certificate

pytestmark = pytest.mark.asyncio(loop_scope="session")

MACHINE = "mill-1"
TAGS = ("spindle_temp", "vibration_rms", "motor_current", "spindle_speed")
PER_NODE = 1000
PER_REQUEST = 2500
STORED = 3000
T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
END = T0 + timedelta(days=1)

Cert = tuple[Path, Path]


def history_of(tag: str) -> list[Reading]:
    return [good(MACHINE, tag, T0 + timedelta(seconds=i), float(i)) for i in range(STORED)]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TrustfloorServer]:
    """A server on a historian holding ``STORED`` readings of each tag, with small caps."""
    data_dir = tmp_path_factory.mktemp("history")
    historian = SqliteHistorian(data_dir / "telemetry.sqlite")
    for tag in TAGS:
        await historian.write(history_of(tag))
    settings = site_settings(
        data_dir,
        machines=1,
        history_max_values_per_node=PER_NODE,
        history_max_values_per_request=PER_REQUEST,
    )
    running = TrustfloorServer(settings, ports=ServerPorts(historian=historian))
    await running.start()
    yield running
    await running.stop()
    await historian.close()


@pytest.fixture(scope="module")
def cert(server: TrustfloorServer, tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return trusted_client_certificate(
        server.pki.trusted, tmp_path_factory.mktemp("client"), "history-test-client"
    )


@pytest_asyncio.fixture(loop_scope="session")
async def client(server: TrustfloorServer, cert: Cert) -> AsyncIterator[Client]:
    session = await secure_client(server.endpoint, cert, "mes", timeout_s=60)
    async with session:
        yield session


def node_id(server: TrustfloorServer, tag: str) -> ua.NodeId:
    assert server.address_space is not None
    return server.address_space.node_id(MACHINE, tag)


def raw_details(num_values: int = 0) -> ua.ReadRawModifiedDetails:
    return ua.ReadRawModifiedDetails(
        IsReadModified=False,
        StartTime=T0 - timedelta(seconds=1),
        EndTime=END,
        NumValuesPerNode=num_values,
        ReturnBounds=False,
    )


async def history_read(
    client: Client,
    nodes: list[ua.NodeId],
    points: list[bytes | None] | None = None,
    *,
    num_values: int = 0,
    release: bool = False,
) -> list[ua.HistoryReadResult]:
    """One HistoryRead service call for ``nodes``, each resuming at its continuation point."""
    params = ua.HistoryReadParameters()
    params.HistoryReadDetails = raw_details(num_values)
    params.TimestampsToReturn = ua.TimestampsToReturn.Both
    params.ReleaseContinuationPoints = release
    for node, point in zip(nodes, points or [None] * len(nodes), strict=True):
        params.NodesToRead.append(ua.HistoryReadValueId(NodeId=node, ContinuationPoint=point))
    results: list[ua.HistoryReadResult] = await client.uaclient.history_read(params)
    return results


def values_of(result: ua.HistoryReadResult) -> list[ua.DataValue]:
    data = result.HistoryData
    return list(data.DataValues or []) if data is not None else []


async def read_everything(
    client: Client, nodes: list[ua.NodeId]
) -> tuple[list[list[ua.DataValue]], int]:
    """Every value of each node, following continuation points until none is left, and the
    number of HistoryRead calls that took."""
    collected: list[list[ua.DataValue]] = [[] for _ in nodes]
    pending = list(range(len(nodes)))
    points: list[bytes | None] = [None] * len(nodes)
    calls = 0
    while pending:
        calls += 1
        results = await history_read(
            client, [nodes[i] for i in pending], [points[i] for i in pending]
        )
        for index, result in zip(pending, results, strict=True):
            assert result.StatusCode.is_good()
            collected[index].extend(values_of(result))
            points[index] = result.ContinuationPoint
        pending = [i for i in pending if points[i]]
    return collected, calls


def expected_stamps() -> list[datetime]:
    return [T0 + timedelta(seconds=i) for i in range(STORED)]


async def test_a_read_without_a_limit_gets_a_first_chunk_and_a_continuation_point(
    server: TrustfloorServer, client: Client
) -> None:
    (result,) = await history_read(client, [node_id(server, "spindle_temp")])
    assert result.StatusCode.is_good()
    assert len(values_of(result)) == PER_NODE
    assert result.ContinuationPoint


async def test_the_client_pages_through_every_value(
    server: TrustfloorServer, client: Client
) -> None:
    node = client.get_node(node_id(server, "spindle_temp"))
    values = await node.read_raw_history(T0 - timedelta(seconds=1), END, numvalues=0)
    assert [v.SourceTimestamp for v in values] == expected_stamps()
    assert [v.Value.Value for v in values] == [float(i) for i in range(STORED)]


async def test_the_nodes_of_one_request_share_its_cap(
    server: TrustfloorServer, client: Client
) -> None:
    nodes = [node_id(server, tag) for tag in TAGS]
    first = await history_read(client, nodes)
    assert sum(len(values_of(r)) for r in first) <= PER_REQUEST
    assert all(r.ContinuationPoint for r in first)
    everything, _ = await read_everything(client, nodes)
    for values in everything:
        assert [v.SourceTimestamp for v in values] == expected_stamps()


async def test_a_smaller_client_limit_is_kept(server: TrustfloorServer, client: Client) -> None:
    (result,) = await history_read(client, [node_id(server, "motor_current")], num_values=10)
    assert [v.Value.Value for v in values_of(result)] == [float(i) for i in range(10)]
    assert result.ContinuationPoint


async def test_released_continuation_points_return_no_values(
    server: TrustfloorServer, client: Client
) -> None:
    node = node_id(server, "spindle_speed")
    (first,) = await history_read(client, [node])
    (released,) = await history_read(client, [node], [first.ContinuationPoint], release=True)
    assert released.StatusCode.is_good()
    assert values_of(released) == []
    assert not released.ContinuationPoint


async def test_a_malformed_continuation_point_is_refused(
    server: TrustfloorServer, client: Client
) -> None:
    (result,) = await history_read(client, [node_id(server, "spindle_speed")], [b"not-ours"])
    assert result.StatusCode.value == ua.StatusCodes.BadContinuationPointInvalid


async def test_a_second_session_is_served_during_a_big_read(
    server: TrustfloorServer, client: Client, cert: Cert
) -> None:
    many = [node_id(server, tag) for tag in TAGS] * 5
    big_read = asyncio.create_task(read_everything(client, many))
    other = await secure_client(server.endpoint, cert, "auditor")
    async with other:
        clock = other.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime))
        reads = [await clock.read_value() for _ in range(5)]
    everything, calls = await big_read
    assert len(reads) == 5
    assert all(len(values) == STORED for values in everything)
    assert calls >= len(many) * STORED // PER_REQUEST, "the big read came in bounded answers"
