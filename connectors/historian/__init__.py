"""Historian sinks: the embedded SQLite store."""

from connectors.historian.sqlite import SqliteHistorian

__all__ = ["SqliteHistorian"]
