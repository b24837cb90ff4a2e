"""Publishing a poll's Good numbers in bulk stores what asyncua's own write would store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from asyncua import ua

from models import ReadingBatch
from opcua_server.fastpath import quiet_startup, thaw
from opcua_server.fastpath.bulk import write_doubles
from opcua_server.server import TrustfloorServer
from tests.support import site_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

MACHINE = "mill-1"
T1 = datetime(2026, 12, 7, 9, 0, 0, 250000, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TrustfloorServer]:
    running = TrustfloorServer(site_settings(tmp_path_factory.mktemp("bulk"), machines=1))
    with quiet_startup():
        await running.start()
    yield running
    await running.stop()
    thaw()


async def held(server: TrustfloorServer, node_id: ua.NodeId) -> ua.DataValue:
    value: ua.DataValue = await server.ua_server.get_node(node_id).read_data_value()
    return value


async def test_bulk_doubles_equal_asyncuas_own_writes(server: TrustfloorServer) -> None:
    assert server.address_space is not None
    temp = server.address_space.node_id(MACHINE, "spindle_temp")
    speed = server.address_space.node_id(MACHINE, "spindle_speed")
    now, later = datetime.now(UTC), T1 + timedelta(seconds=1)
    times = [T1, T1, later]
    written = await write_doubles(
        server.ua_server, [temp, None, speed], [1.5, 2.0, 3.25], times, now
    )
    assert written == 2
    bulk = [await held(server, temp), await held(server, speed)]
    for node_id, number, ts in ((temp, 1.5, T1), (speed, 3.25, later)):
        await server.ua_server.write_attribute_value(
            node_id,
            ua.DataValue(
                ua.Variant(number, ua.VariantType.Double),
                StatusCode=ua.StatusCode(ua.StatusCodes.Good),
                SourceTimestamp=ts,
                ServerTimestamp=now,
            ),
        )
    assert bulk == [await held(server, temp), await held(server, speed)]


async def test_a_batch_of_good_numbers_is_published_from_its_columns(
    server: TrustfloorServer,
) -> None:
    assert server.address_space is not None
    tags = ("spindle_temp", "vibration_rms", "no_such_tag")
    batch = ReadingBatch.good(MACHINE, tags, T1, [41.0, 2.5, 9.0])
    assert await server.address_space.publish(batch) == 2
    value = await held(server, server.address_space.node_id(MACHINE, "vibration_rms"))
    assert value.Value == ua.Variant(2.5, ua.VariantType.Double)
    assert value.SourceTimestamp == T1
    assert value.StatusCode == ua.StatusCode(ua.StatusCodes.Good)


async def test_a_variable_with_a_plain_attribute_table_is_written_too(
    server: TrustfloorServer,
) -> None:
    assert server.address_space is not None
    node_id = server.address_space.node_id(MACHINE, "spindle_speed")
    node = server.ua_server.iserver.aspace._nodes[node_id]
    layered = node.attributes
    node.attributes = layered.merged()  # as asyncua holds it without the memory patch
    try:
        now = datetime.now(UTC)
        assert await write_doubles(server.ua_server, [node_id], [7.5], [T1], now) == 1
        value = await held(server, node_id)
    finally:
        node.attributes = layered
    assert value.Value == ua.Variant(7.5, ua.VariantType.Double)
    assert value.SourceTimestamp == T1
