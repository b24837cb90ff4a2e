"""The Prometheus endpoint scraped over HTTP and read back with prometheus_client's parser."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from opcua_server.runtime.metrics import Metric, MetricKind, MetricsEndpoint
from opcua_server.runtime.site import Site

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
FIGURES = [
    Metric("demo_readings_total", "readings accepted", MetricKind.COUNTER, 1234),
    Metric("demo_queue_depth", "readings waiting", MetricKind.GAUGE, 7.5),
    Metric("demo_devices_up", "devices up", MetricKind.GAUGE, 1, {"kind": "modbus"}),
    Metric("demo_devices_up", "devices up", MetricKind.GAUGE, 0, {"kind": "opcua"}),
]
SITE_METRICS = {
    "trustfloor_readings": "counter",
    "trustfloor_readings_per_second": "gauge",
    "trustfloor_readings_stored": "counter",
    "trustfloor_ingest_queue_depth": "gauge",
    "trustfloor_devices": "gauge",
    "trustfloor_devices_up": "gauge",
    "trustfloor_opcua_sessions": "gauge",
    "trustfloor_opcua_rejected_sessions": "counter",
    "trustfloor_alerts_active": "gauge",
    "trustfloor_anchors_pending": "gauge",
}
"""The site's families as the parser names them (a counter's family drops ``_total``)."""


@pytest_asyncio.fixture(loop_scope="session")
async def endpoint() -> AsyncIterator[MetricsEndpoint]:
    """An endpoint on 127.0.0.1 with a port the OS chose, reporting FIGURES at each scrape."""

    async def collect() -> Sequence[Metric]:
        return FIGURES

    served = MetricsEndpoint("127.0.0.1", 0, collect)
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


async def scrape(port: int, path: str = "/metrics", accept: str = "") -> tuple[int, str, str]:
    """Status, content type and body of one GET."""
    headers = {"Accept": accept} if accept else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}", headers=headers) as response,
    ):
        return response.status, response.headers["Content-Type"], await response.text()


def samples(body: str) -> dict[str, tuple[str, list[Sample]]]:
    """Family name → (type, samples), as Prometheus reads the text format."""
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(body)}


async def test_a_scrape_parses_into_the_families_with_their_types_values_and_labels(
    endpoint: MetricsEndpoint,
) -> None:
    status, content_type, body = await scrape(endpoint.port)
    families = samples(body)
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert list(families) == ["demo_readings", "demo_queue_depth", "demo_devices_up"]
    kind, [total] = families["demo_readings"]
    assert (kind, total.name, total.value) == ("counter", "demo_readings_total", 1234.0)
    assert families["demo_queue_depth"][0] == "gauge"
    assert families["demo_queue_depth"][1][0].value == 7.5
    up = {s.labels["kind"]: s.value for s in families["demo_devices_up"][1]}
    assert up == {"modbus": 1.0, "opcua": 0.0}
    assert "# TYPE demo_readings_total counter" in body


async def test_a_scraper_that_asks_for_openmetrics_gets_it(endpoint: MetricsEndpoint) -> None:
    status, content_type, body = await scrape(endpoint.port, accept=OPENMETRICS)
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")


async def test_any_other_path_is_not_found(endpoint: MetricsEndpoint) -> None:
    status, _, _ = await scrape(endpoint.port, path="/")
    assert status == 404


async def test_the_site_metrics_parse_with_their_names_and_types(site: Site) -> None:
    assert site.metrics is not None
    status, _, body = await scrape(site.metrics.port)
    families = samples(body)
    assert status == 200
    assert {name: families[name][0] for name in SITE_METRICS} == SITE_METRICS
    [readings] = families["trustfloor_readings"][1]
    assert readings.name == "trustfloor_readings_total"
    assert families["trustfloor_devices"][1][0].value == 3  # two machines and the printer
