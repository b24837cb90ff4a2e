"""[historian] settings: retention ordering, the InfluxDB section, and its token from the env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from config import Settings
from connectors.errors import HistorianError
from connectors.historian import InfluxSink, Retention

INFLUX = {"url": "http://influx.plant7.example:8086", "org": "plant7", "bucket": "telemetry"}


def historian(**fields: Any) -> Settings:
    return Settings.model_validate({"historian": fields})


def test_defaults_keep_a_week_of_raw_data_and_two_years_of_minutes() -> None:
    settings = historian().historian
    assert Retention.from_settings(settings) == Retention(7 * 86_400, 60, 730 * 86_400)
    assert settings.influx is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"raw_retention_s": 30, "rollup_interval_s": 60}, "rollup_interval_s must not exceed"),
        ({"raw_retention_s": 100, "aggregate_retention_s": 50}, "at least raw_retention_s"),
        ({"influx": {**INFLUX, "token": "s3cret"}}, "Extra inputs are not permitted"),
        ({"influx": {**INFLUX, "url": "influx:8086"}}, "should match pattern"),
        ({"influx": {**INFLUX, "max_spool_mb": 0}}, "greater than 0"),
    ],
)
def test_inconsistent_or_secret_settings_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        historian(**fields)


def test_the_token_comes_from_the_named_environment_variable(tmp_path: Path) -> None:
    influx = historian(influx={**INFLUX, "token_env": "PLANT7_INFLUX_TOKEN"}).historian.influx
    assert influx is not None
    with pytest.raises(HistorianError) as caught:
        InfluxSink.from_settings(influx, tmp_path, environ={})
    assert "PLANT7_INFLUX_TOKEN" in caught.value.advice
    assert not (tmp_path / "queue").exists()
