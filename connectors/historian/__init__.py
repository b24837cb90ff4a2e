"""Historian sinks: the embedded SQLite store with rollups, and InfluxDB via a disk spool."""

from connectors.historian.errors import (
    AggregateQueryError,
    InfluxWriteError,
    RollupIntervalChangedError,
    SpoolError,
    SpoolFullError,
)
from connectors.historian.influx import InfluxSink, InfluxSinkStats
from connectors.historian.spool import Spool, SpoolBatch
from connectors.historian.sqlite import (
    MaintenanceReport,
    Retention,
    SqliteHistorian,
    TelemetryStore,
)

__all__ = [
    "AggregateQueryError",
    "InfluxSink",
    "InfluxSinkStats",
    "InfluxWriteError",
    "MaintenanceReport",
    "Retention",
    "RollupIntervalChangedError",
    "Spool",
    "SpoolBatch",
    "SpoolError",
    "SpoolFullError",
    "SqliteHistorian",
    "TelemetryStore",
]
