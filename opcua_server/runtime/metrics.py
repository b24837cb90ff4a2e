"""Prometheus /metrics: the site's figures gathered at each scrape, exposed by prometheus_client."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


class MetricKind(StrEnum):
    """The Prometheus metric types the site reports."""

    COUNTER = "counter"
    GAUGE = "gauge"


@dataclass(frozen=True, slots=True)
class Metric:
    """One sample: name, help text, kind, value and labels.

    A counter's name ends in ``_total``, as it is exposed; samples of one name share their help
    text, kind and label names.
    """

    name: str
    help: str
    kind: MetricKind
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


Family = CounterMetricFamily | GaugeMetricFamily


def _family(metric: Metric) -> Family:
    labels = sorted(metric.labels)
    if metric.kind is MetricKind.COUNTER:
        return CounterMetricFamily(metric.name, metric.help, labels=labels)
    return GaugeMetricFamily(metric.name, metric.help, labels=labels)


class Figures(Collector):
    """One scrape's metrics as prometheus_client metric families, in the order first named."""

    def __init__(self, metrics: Sequence[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Family]:
        families: dict[str, Family] = {}
        for metric in self._metrics:
            family = families.setdefault(metric.name, _family(metric))
            family.add_metric([metric.labels[name] for name in sorted(metric.labels)], metric.value)
        yield from families.values()


class MetricsEndpoint:
    """Serves ``GET /metrics`` on a local port for Prometheus; anything else is 404.

    ``collect`` gathers the figures at each scrape; prometheus_client writes them in the format
    the scraper asks for (text 0.0.4 unless its Accept header prefers OpenMetrics).
    """

    def __init__(
        self, host: str, port: int, collect: Callable[[], Awaitable[Sequence[Metric]]]
    ) -> None:
        self._host = host
        self._port = port
        self._collect = collect
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        assert self._runner is not None
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._scrape)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("metrics on http://%s:%d/metrics", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _scrape(self, request: web.Request) -> web.StreamResponse:
        metrics = await self._collect()
        return await make_aiohttp_handler(Figures(metrics))(request)
