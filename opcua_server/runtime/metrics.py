"""Prometheus /metrics: the site's figures gathered at each scrape, exposed by prometheus_client."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from aiohttp import web

    from connectors import InfluxSinkStats

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


@dataclass(frozen=True, slots=True)
class SiteFigures:
    """What the site counts at one scrape."""

    readings: int
    readings_per_s: float
    stored: int
    queue_depth: int
    devices: int
    devices_up: int
    opcua_sessions: int
    rejected_sessions: int
    alerts_active: int
    anchors_pending: int
    influx: InfluxSinkStats | None = None
    """The InfluxDB sink's counters, when the site writes to InfluxDB."""
    retrains: int = 0
    models_replaced: int = 0


def site_metrics(f: SiteFigures) -> list[Metric]:
    """The site's metrics: ingest, devices, sessions, InfluxDB, alerts and anchors."""
    counter, gauge = MetricKind.COUNTER, MetricKind.GAUGE
    return [
        Metric(
            "trustfloor_readings_total", "readings accepted from connectors", counter, f.readings
        ),
        Metric(
            "trustfloor_readings_per_second",
            "readings/s since the previous scrape",
            gauge,
            f.readings_per_s,
        ),
        Metric(
            "trustfloor_readings_stored_total",
            "readings delivered to every sink",
            counter,
            f.stored,
        ),
        Metric(
            "trustfloor_ingest_queue_depth", "readings waiting for the sinks", gauge, f.queue_depth
        ),
        Metric("trustfloor_devices", "configured machines and printers", gauge, f.devices),
        Metric("trustfloor_devices_up", "devices whose connection is up", gauge, f.devices_up),
        Metric("trustfloor_opcua_sessions", "activated OPC UA sessions", gauge, f.opcua_sessions),
        Metric(
            "trustfloor_opcua_rejected_sessions_total",
            "refused logins",
            counter,
            f.rejected_sessions,
        ),
        *(_influx_metrics(f.influx) if f.influx is not None else []),
        Metric("trustfloor_alerts_active", "active maintenance alerts", gauge, f.alerts_active),
        Metric(
            "trustfloor_anchors_pending",
            "sealed batches not yet anchored",
            gauge,
            f.anchors_pending,
        ),
        Metric("trustfloor_retrains_total", "scheduled retrains run", counter, f.retrains),
        Metric(
            "trustfloor_models_replaced_total",
            "models a scheduled retrain replaced (better on held-out runs)",
            counter,
            f.models_replaced,
        ),
    ]


def _influx_metrics(stats: InfluxSinkStats) -> list[Metric]:
    return [
        Metric(
            "trustfloor_influx_queued",
            "readings spooled for InfluxDB",
            MetricKind.GAUGE,
            stats.queued,
        ),
        Metric(
            "trustfloor_influx_sent_total",
            "readings InfluxDB accepted",
            MetricKind.COUNTER,
            stats.sent,
        ),
        Metric(
            "trustfloor_influx_refused_total",
            "readings refused: spool full",
            MetricKind.COUNTER,
            stats.refused,
        ),
    ]


class ReadingRate:
    """Readings per second between one scrape and the next."""

    def __init__(self, start: datetime) -> None:
        self._mark = (0, start)

    def since_last(self, readings: int, now: datetime) -> float:
        """The rate since the previous call (or ``start``); ``readings`` counts from start."""
        count, then = self._mark
        self._mark = (readings, now)
        return (readings - count) / max((now - then).total_seconds(), 1e-9)


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
        from aiohttp import web  # the HTTP server loads only when metrics are served

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
        from prometheus_client.aiohttp import make_aiohttp_handler

        metrics = await self._collect()
        return await make_aiohttp_handler(Figures(metrics))(request)
