"""Each listener has a port of its own and each store a file of its own in the data directory."""

from __future__ import annotations

import pytest

from config import parse_settings
from tests.unit.config.config_kit import demo_raw, paths_of, problems_of

PORT_ADVICE = "give each listener a port of its own, or 0 for a free one"
STORE_ADVICE = "give each store a file or folder of its own in the data directory"


def test_the_metrics_port_cannot_be_the_opcua_port() -> None:
    raw = demo_raw()
    raw["server"]["metrics_port"] = 4840
    assert problems_of(raw) == [
        f"server.metrics_port: port 4840 is already server.port's; {PORT_ADVICE}"
    ]


def test_simulated_devices_listen_on_ports_of_their_own() -> None:
    raw = demo_raw()
    raw["site"]["machines"][2]["modbus"]["port"] = 9464
    raw["site"]["machines"][4]["modbus"]["port"] = 15020
    raw["site"]["machines"][5]["modbus"]["port"] = 15020
    raw["site"]["printers"][1]["opcua"]["url"] = "opc.tcp://127.0.0.1:4840/printer"
    assert problems_of(raw) == [
        f"site.machines[2].modbus.port: port 9464 is already server.metrics_port's; {PORT_ADVICE}",
        f"site.machines[5].modbus.port: port 15020 is already"
        f" site.machines[4].modbus.port's; {PORT_ADVICE}",
        f"site.printers[1].opcua.url: port 4840 is already server.port's; {PORT_ADVICE}",
    ]


def test_port_zero_and_listeners_on_distinct_addresses_do_not_clash() -> None:
    raw = demo_raw()
    raw["server"] |= {"port": 0, "metrics_port": 0}
    assert parse_settings(raw).server.metrics_port == 0
    raw["server"] |= {"host": "10.0.0.5", "port": 4840, "metrics_port": 4840}
    assert parse_settings(raw).server.metrics_port == 4840
    raw["server"]["host"] = "0.0.0.0"
    assert paths_of(problems_of(raw)) == ["server.metrics_port"], "0.0.0.0 is every address"


def test_two_stores_in_one_file_are_refused() -> None:
    raw = demo_raw()
    raw["maintenance"]["orders_file"] = "telemetry.sqlite"
    raw["ledger"]["sqlite_file"] = "./alerts.sqlite"
    assert problems_of(raw) == [
        "maintenance.orders_file: 'telemetry.sqlite' is also historian.sqlite_file; "
        + STORE_ADVICE,
        "maintenance.alerts_file: 'alerts.sqlite' is also ledger.sqlite_file; " + STORE_ADVICE,
    ]


def test_a_store_inside_another_stores_folder_or_trustfloors_own_is_refused() -> None:
    raw = demo_raw()
    raw["maintenance"]["scores_file"] = "models/health.sqlite"
    raw["historian"]["sqlite_file"] = "events.sqlite"
    raw["ledger"]["designs_dir"] = "pki/designs"
    assert problems_of(raw) == [
        "historian.sqlite_file: 'events.sqlite' is also the OPC UA event history; " + STORE_ADVICE,
        "ledger.designs_dir: 'pki/designs' is inside the PKI folder (pki); " + STORE_ADVICE,
        "maintenance.scores_file: 'models/health.sqlite' is inside maintenance.models_dir"
        " (models); " + STORE_ADVICE,
    ]


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("historian", "sqlite_file", "/srv/telemetry.sqlite"),
        ("historian", "sqlite_file", "../telemetry.sqlite"),
        ("maintenance", "models_dir", "models/../../models"),
        ("ledger", "sqlite_file", ""),
        ("ledger", "designs_dir", "../designs"),
        ("server", "audit_file", "/var/log/trustfloor/audit.log"),
    ],
)
def test_stores_stay_inside_the_data_directory(section: str, field: str, value: str) -> None:
    raw = demo_raw()
    raw[section][field] = value
    [problem] = problems_of(raw)
    assert problem.startswith(f"{section}.{field}: ")
    assert "inside the data directory" in problem


def test_the_designs_folder_may_be_an_absolute_path_the_file_names() -> None:
    raw = demo_raw()
    raw["ledger"]["designs_dir"] = "/srv/oem-designs"
    assert str(parse_settings(raw).ledger.designs_dir) == "/srv/oem-designs"
