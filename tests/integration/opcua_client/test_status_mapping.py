"""Pure checks of the OPC UA client: status codes to quality and cause, values, configuration."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asyncua import ua

from connectors.opcua_client import (
    OpcUaClientError,
    OpcUaConnector,
    cause_of,
    quality_of,
    reading_of,
    status_name,
)
from models import Cause, Quality, SystemClock
from models.machines import OpcUaTag
from tests.integration.opcua_client.opcua_client_kit import machine, tag

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TEMP = OpcUaTag.model_validate(tag("temp", "ns=2;s=T", eu_low=0.0, eu_high=100.0))


@pytest.mark.parametrize(
    ("code", "quality", "cause"),
    [
        (ua.StatusCodes.Good, Quality.GOOD, Cause.NONE),
        (ua.StatusCodes.GoodClamped, Quality.GOOD, Cause.NONE),
        (ua.StatusCodes.UncertainLastUsableValue, Quality.UNCERTAIN, Cause.DEVICE_EXCEPTION),
        (ua.StatusCodes.UncertainEngineeringUnitsExceeded, Quality.UNCERTAIN, Cause.OUT_OF_RANGE),
        (
            ua.StatusCodes.UncertainNoCommunicationLastUsableValue,
            Quality.UNCERTAIN,
            Cause.COMMUNICATION,
        ),
        (ua.StatusCodes.BadSensorFailure, Quality.BAD, Cause.DEVICE_EXCEPTION),
        (ua.StatusCodes.BadCommunicationError, Quality.BAD, Cause.COMMUNICATION),
        (ua.StatusCodes.BadNotConnected, Quality.BAD, Cause.COMMUNICATION),
        (ua.StatusCodes.BadOutOfRange, Quality.BAD, Cause.OUT_OF_RANGE),
        (ua.StatusCodes.BadSensorFailure | 0x0400, Quality.BAD, Cause.DEVICE_EXCEPTION),
    ],
)
def test_severity_bits_and_code_decide_quality_and_cause(
    code: int, quality: Quality, cause: Cause
) -> None:
    assert quality_of(code) is quality
    assert cause_of(code) is cause


def test_status_names_ignore_info_bits_and_survive_unknown_codes() -> None:
    assert status_name(ua.StatusCodes.BadSensorFailure | 0x0400) == "BadSensorFailure"
    assert status_name(0x80FE0000) == "Bad (0x80FE0000)"


def data(
    value: object, code: int = ua.StatusCodes.Good, ts: datetime | None = None
) -> ua.DataValue:
    return ua.DataValue(ua.Variant(value), ua.StatusCode(code), SourceTimestamp=ts)


def test_a_good_value_keeps_its_source_timestamp_and_type() -> None:
    source = datetime(2026, 11, 22, 11, 59, tzinfo=UTC)
    reading = reading_of("m1", TEMP, data(21.5, ts=source), NOW)
    assert (reading.value, reading.quality, reading.source_ts) == (21.5, Quality.GOOD, source)
    assert reading_of("m1", TEMP, data(7), NOW).value == 7
    assert reading_of("m1", TEMP, data(True), NOW).value is True
    assert reading_of("m1", TEMP, data(ua.LocalizedText("auto")), NOW).value == "auto"


def test_without_timestamps_the_receive_time_is_used() -> None:
    assert reading_of("m1", TEMP, data(1.0), NOW).source_ts == NOW


@pytest.mark.parametrize(
    ("value", "reason"),
    [(math.nan, "not a finite number"), ([1.0, 2.0], "list"), (None, "no value")],
)
def test_values_a_reading_cannot_carry_are_bad_invalid(value: object, reason: str) -> None:
    reading = reading_of("m1", TEMP, data(value), NOW)
    assert (reading.quality, reading.cause, reading.value) == (
        Quality.BAD,
        Cause.INVALID_VALUE,
        None,
    )
    assert reason in reading.reason


def test_a_bad_status_drops_the_value_and_names_the_status() -> None:
    reading = reading_of("m1", TEMP, data(3.0, ua.StatusCodes.BadDeviceFailure), NOW)
    assert (reading.value, reading.reason) == (None, "BadDeviceFailure")


def test_good_values_outside_the_engineering_range_become_uncertain() -> None:
    high = reading_of("m1", TEMP, data(120.0), NOW)
    low = reading_of("m1", TEMP, data(-1.0), NOW)
    assert high.quality is Quality.UNCERTAIN
    assert high.cause is Cause.OUT_OF_RANGE
    assert "above the engineering range (max 100)" in high.reason
    assert "below the engineering range (min 0)" in low.reason


def test_a_missing_password_variable_is_refused_before_connecting(tmp_path: Path) -> None:
    config = machine(
        "opc.tcp://127.0.0.1:4840",
        [tag("a", "ns=2;s=A")],
        username="plc",
        password_env="TF_TEST_UNSET_PASSWORD",
    )
    with pytest.raises(OpcUaClientError, match="TF_TEST_UNSET_PASSWORD") as raised:
        OpcUaConnector(config, SystemClock(), environ={}, pki_dir=tmp_path)
    assert "export TF_TEST_UNSET_PASSWORD" in raised.value.advice


def test_a_secure_endpoint_without_a_pki_folder_is_refused() -> None:
    config = machine(
        "opc.tcp://127.0.0.1:4840",
        [tag("a", "ns=2;s=A")],
        security_policy="Basic256Sha256",
        security_mode="SignAndEncrypt",
    )
    with pytest.raises(OpcUaClientError, match="PKI folder"):
        OpcUaConnector(config, SystemClock())


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ({"security_policy": "None", "security_mode": "Sign"}, "both be None"),
        ({"username": "plc"}, "username and password_env together"),
        ({"url": "http://plc"}, "String should match pattern"),
    ],
)
def test_incoherent_endpoints_are_configuration_errors(
    endpoint: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        machine(endpoint.pop("url", "opc.tcp://plc:4840"), [tag("a", "ns=2;s=A")], **endpoint)


@pytest.mark.parametrize("node_id", ["ns=2;s=Line 1/Temp", "i=2258", "nsu=urn:acme:plc;i=1001"])
def test_node_id_forms_of_the_standard_are_accepted(node_id: str) -> None:
    assert OpcUaTag.model_validate(tag("a", node_id)).node_id == node_id


@pytest.mark.parametrize("node_id", ["Temp", "ns=x;s=T", "ns=2;q=1"])
def test_malformed_node_ids_are_refused(node_id: str) -> None:
    with pytest.raises(ValueError, match="node_id"):
        OpcUaTag.model_validate(tag("a", node_id))
