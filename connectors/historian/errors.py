"""Errors of the historian stores and sinks, each with advice for the operator."""

from __future__ import annotations

from connectors.errors import HistorianError


class AggregateQueryError(HistorianError):
    """A processed-history request that cannot be answered as asked."""

    advice = "ask for a longer interval_s or a shorter time range (at most 100000 intervals)"


class RollupIntervalChangedError(HistorianError):
    """The configured rollup interval differs from the one the database was built with."""


class SpoolError(HistorianError):
    """The store-and-forward spool file cannot be used."""

    advice = "check that <data_dir>/queue is writable, on a local disk, and has free space"


class SpoolFullError(SpoolError):
    """The spool holds max_spool_mb of undelivered data; new readings are refused."""

    advice = (
        "bring the InfluxDB endpoint back (see the sink's last_error) or raise "
        "historian.influx.max_spool_mb; refused readings are still in the SQLite historian"
    )


class InfluxWriteError(HistorianError):
    """The InfluxDB endpoint did not accept a batch.

    ``retryable`` is False when the server rejected the data itself (HTTP 400 or 422): resending
    the same bytes cannot succeed, so the batch is set aside in the spool's ``rejected`` table.
    """

    def __init__(self, message: str, *, status: int | None, retryable: bool) -> None:
        super().__init__(message, advice=_write_advice(status))
        self.status = status
        self.retryable = retryable


def _write_advice(status: int | None) -> str:
    if status in (401, 403):
        return "check the token in the environment variable named by historian.influx.token_env"
    if status == 404:
        return "check historian.influx.org and bucket exist on the server"
    if status in (400, 422):
        return "inspect the spool's rejected table; the server refused these points"
    if status == 413:
        return "lower historian.influx.batch_size"
    return "check historian.influx.url is reachable; readings wait in the spool meanwhile"
