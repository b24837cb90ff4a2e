"""SQLite historian off: every reading reaches VictoriaMetrics and HistoryRead is refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from asyncua import ua

from config import Settings
from connectors.historian import InfluxSink
from opcua_server.runtime.site import Site
from tests.integration.historian.kit import delivered, influx_settings
from tests.integration.historian.victoria import StartVictoria, VictoriaMetrics
from tests.support import site_settings, wait_for, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

READINGS = 60
"""Readings the site must have polled before it is stopped."""


def without_sqlite(settings: Settings, url: str) -> Settings:
    """The site's settings with telemetry sent to ``url`` only."""
    influx = influx_settings(url)
    historian = settings.historian.model_copy(update={"sqlite_enabled": False, "influx": influx})
    return settings.model_copy(update={"historian": historian})


def raw_read(node: ua.NodeId) -> ua.HistoryReadParameters:
    details = ua.ReadRawModifiedDetails()
    details.IsReadModified = False
    details.NumValuesPerNode = 10
    params = ua.HistoryReadParameters()
    params.ReleaseContinuationPoints = False
    params.HistoryReadDetails = details
    params.NodesToRead = [ua.HistoryReadValueId(NodeId=node)]
    return params


async def searchable(victoria: VictoriaMetrics, expected: int) -> int:
    """Quality samples on the server (one per reading), once ``expected`` are or time ran out."""
    try:
        return await wait_for(
            lambda: victoria.count("telemetry_quality"), lambda n: n >= expected, poll_s=0.2
        )
    except TimeoutError:
        return await victoria.count("telemetry_quality")


async def test_every_reading_reaches_victoria_and_history_reads_are_refused(
    start_victoria: StartVictoria, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    victoria = await start_victoria()
    settings = without_sqlite(site_settings(tmp_path / "var", machines=1), victoria.url)
    site = Site(settings)
    await site.start()
    try:
        assert site.historian is None
        assert site.influx is not None
        sink = site.influx
        await wait_until(lambda: sink.stats.accepted >= READINGS)
        assert site.server is not None
        assert site.server.history is not None
        with caplog.at_level(logging.WARNING):
            (answer,) = await site.server.history.read_history(raw_read(ua.NodeId("x", 2)))
    finally:
        await site.stop()
    assert answer.StatusCode.value == ua.StatusCodes.BadHistoryOperationUnsupported
    assert "historian.sqlite_enabled is false" in caplog.text
    assert not (tmp_path / "var" / settings.historian.sqlite_file).exists()
    polled, refused = sink.stats.accepted, sink.stats.refused
    assert refused == 0
    # what the stopped site had not sent yet waits in its spool: a new sink delivers it
    resumed = InfluxSink(influx_settings(victoria.url), tmp_path / "var")
    await resumed.start()
    try:
        await delivered(resumed)
    finally:
        await resumed.close()
    assert await searchable(victoria, polled) == polled
