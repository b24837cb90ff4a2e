"""Historian sinks: the embedded SQLite store with rollups, and InfluxDB via a disk spool."""

from importlib import import_module
from typing import TYPE_CHECKING

from connectors.historian.errors import (
    AggregateQueryError,
    InfluxWriteError,
    RollupIntervalChangedError,
    SpoolError,
    SpoolFullError,
)
from connectors.historian.spool import Spool, SpoolBatch
from connectors.historian.sqlite import (
    MaintenanceReport,
    Retention,
    SqliteHistorian,
    TelemetryStore,
)

if TYPE_CHECKING:
    from connectors.historian.influx import InfluxSink, InfluxSinkStats

_LOADED_ON_USE = {
    "InfluxSink": "connectors.historian.influx",
    "InfluxSinkStats": "connectors.historian.influx",
}
"""Names whose module loads influxdb_client: imported when a site has an InfluxDB historian."""

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


def __getattr__(name: str) -> object:
    """Import a name of ``_LOADED_ON_USE`` from its module when it is first asked for."""
    module = _LOADED_ON_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
