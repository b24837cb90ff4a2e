"""Engineering units as OPC UA EUInformation, from UNECE Recommendation 20 common codes."""

from __future__ import annotations

from asyncua import ua

from opcua_server.model.namespaces import UNECE_UNITS

# symbol used in the config → (UNECE Rec. 20 common code, description)
_UNITS: dict[str, tuple[str, str]] = {
    "Cel": ("CEL", "degree Celsius"),
    "K": ("KEL", "kelvin"),
    "mm/s": ("C16", "millimetre per second"),
    "A": ("AMP", "ampere"),
    "V": ("VLT", "volt"),
    "W": ("WTT", "watt"),
    "kW": ("KWT", "kilowatt"),
    "1/min": ("RPM", "revolutions per minute"),
    "Hz": ("HTZ", "hertz"),
    "bar": ("BAR", "bar"),
    "%": ("P1", "percent"),
    "ppm": ("59", "part per million"),
    "s": ("SEC", "second"),
    "mm": ("MMT", "millimetre"),
    "N.m": ("NU", "newton metre"),
    "h": ("HUR", "hour"),
}


def unit_id(common_code: str) -> int:
    """UnitId of a common code: its ASCII characters packed big-endian (OPC 10000-8 §5.6.3)."""
    value = 0
    for char in common_code.upper():
        value = (value << 8) | ord(char)
    return value


def eu_information(symbol: str) -> ua.EUInformation:
    """EUInformation for a config unit symbol; unknown symbols keep the text with UnitId -1."""
    code, description = _UNITS.get(symbol, ("", symbol))
    info = ua.EUInformation()
    info.NamespaceUri = UNECE_UNITS
    info.UnitId = unit_id(code) if code else -1
    info.DisplayName = ua.LocalizedText(symbol)
    info.Description = ua.LocalizedText(description)
    return info
