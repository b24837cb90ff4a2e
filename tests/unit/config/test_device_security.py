"""Links to real OPC UA devices are secured unless the device's entry allows otherwise."""

from __future__ import annotations

from typing import Any

from config import parse_settings
from tests.unit.config.config_kit import demo_raw, problems_of

NONE = {"security_policy": "None", "security_mode": "None"}
OPCUA_MACHINE: dict[str, Any] = {
    "id": "lathe-7",
    "opcua": {"url": "opc.tcp://lathe-7.plant:4840"} | NONE,
    "tags": [{"name": "spindle_temp", "node_id": "ns=2;s=Spindle/Temp"}],
}
ADVICE = (
    "security None on a real device: choose Basic256Sha256 or an Aes policy with"
    " SignAndEncrypt, or set opcua.allow_insecure = true to accept an unprotected link"
)


def real_printer(raw: dict[str, Any]) -> dict[str, Any]:
    printer: dict[str, Any] = raw["site"]["printers"][1]
    printer["simulated"] = False
    printer["opcua"]["url"] = "opc.tcp://am-2.plant:4840/printer"
    printer["opcua"] |= {"security_policy": "None", "security_mode": "None"}
    return printer


def test_a_real_printer_without_security_is_refused() -> None:
    raw = demo_raw()
    real_printer(raw)
    assert problems_of(raw) == [f"site.printers[1].opcua.security_policy: {ADVICE}"]


def test_an_opcua_machine_without_security_is_refused() -> None:
    raw = demo_raw()
    raw["site"]["opcua_machines"] = [OPCUA_MACHINE]
    assert problems_of(raw) == [f"site.opcua_machines[0].opcua.security_policy: {ADVICE}"]


def test_allow_insecure_on_the_device_accepts_its_unprotected_link() -> None:
    raw = demo_raw()
    real_printer(raw)["opcua"]["allow_insecure"] = True
    machine = OPCUA_MACHINE | {"opcua": OPCUA_MACHINE["opcua"] | {"allow_insecure": True}}
    raw["site"]["opcua_machines"] = [machine]
    settings = parse_settings(raw)
    assert settings.site.printers[1].opcua.allow_insecure
    assert settings.site.opcua_machines[0].opcua.allow_insecure


def test_simulated_printers_serve_none_without_being_told() -> None:
    settings = parse_settings(demo_raw())
    assert all(p.simulated and not p.opcua.allow_insecure for p in settings.site.printers)
