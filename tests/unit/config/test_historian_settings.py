"""Historian settings: the SQLite historian may be off only while telemetry goes to InfluxDB."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.settings import HistorianSettings

INFLUX = {"url": "http://influx.plant7.example:8086", "org": "plant7", "bucket": "telemetry"}


def test_the_sqlite_historian_is_on_by_default() -> None:
    assert HistorianSettings().sqlite_enabled


def test_without_sqlite_telemetry_goes_to_influx_only() -> None:
    settings = HistorianSettings.model_validate({"sqlite_enabled": False, "influx": INFLUX})
    assert settings.influx is not None


def test_turning_sqlite_off_with_nowhere_else_to_keep_telemetry_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"sqlite_enabled = false needs historian\.influx"):
        HistorianSettings.model_validate({"sqlite_enabled": False})
