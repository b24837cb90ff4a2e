"""ISO 14224:2016 codes a work request is closed with: failure mode, mechanism and cause."""

# Failure mechanisms (ISO 14224:2016 Table B.2) and failure causes (Table B.3) are shared by every
# equipment class; failure modes (Tables B.6–B.15) are three-letter codes per equipment class, of
# which those of rotating equipment (pumps, compressors, motors, mills) are listed here.

from __future__ import annotations

from collections.abc import Mapping

FAILURE_MECHANISMS: Mapping[str, str] = {
    "1.0": "mechanical failure - general",
    "1.1": "leakage",
    "1.2": "vibration",
    "1.3": "clearance/alignment failure",
    "1.4": "deformation",
    "1.5": "looseness",
    "1.6": "sticking",
    "2.0": "material failure - general",
    "2.1": "cavitation",
    "2.2": "corrosion",
    "2.3": "erosion",
    "2.4": "wear",
    "2.5": "breakage",
    "2.6": "fatigue",
    "2.7": "overheating",
    "2.8": "burst",
    "3.0": "instrument failure - general",
    "3.1": "control failure",
    "3.2": "no signal/indication/alarm",
    "3.3": "faulty signal/indication/alarm",
    "3.4": "out of adjustment",
    "3.5": "software failure",
    "3.6": "common cause/mode failure",
    "4.0": "electrical failure - general",
    "4.1": "short circuiting",
    "4.2": "open circuit",
    "4.3": "no power/voltage",
    "4.4": "faulty power/voltage",
    "4.5": "earth/isolation fault",
    "5.0": "external influence - general",
    "5.1": "blockage/plugged",
    "5.2": "contamination",
    "5.3": "miscellaneous external influences",
    "6.0": "miscellaneous - general",
    "6.1": "no cause found",
    "6.2": "combined causes",
    "6.3": "other",
    "6.4": "unknown",
}
"""ISO 14224:2016 Table B.2."""

FAILURE_CAUSES: Mapping[str, str] = {
    "1.0": "design-related causes",
    "1.1": "improper capacity",
    "1.2": "improper material",
    "2.0": "fabrication/installation-related causes",
    "2.1": "fabrication error",
    "2.2": "installation error",
    "3.0": "failure related to operation/maintenance",
    "3.1": "off-design service",
    "3.2": "operating error",
    "3.3": "maintenance error",
    "3.4": "expected wear and tear",
    "4.0": "failure related to management",
    "4.1": "documentation error",
    "4.2": "management error",
    "5.0": "miscellaneous",
    "5.1": "no cause found",
    "5.2": "common cause",
    "5.3": "combined causes",
    "5.4": "other unit/cascading failure",
    "5.5": "other",
    "5.6": "unknown",
}
"""ISO 14224:2016 Table B.3."""

FAILURE_MODES: Mapping[str, str] = {
    "AIR": "abnormal instrument reading",
    "BRD": "breakdown",
    "ELP": "external leakage - process medium",
    "ELU": "external leakage - utility medium",
    "ERO": "erratic output",
    "FTS": "fail to start on demand",
    "HIO": "high output",
    "INL": "internal leakage",
    "LOO": "low output",
    "NOI": "noise",
    "OHE": "overheating",
    "PDE": "parameter deviation",
    "SER": "minor in-service problems",
    "STD": "structural deficiency",
    "STP": "fail to stop on demand",
    "UST": "spurious stop",
    "VIB": "vibration",
    "OTH": "other",
    "UNK": "unknown",
}
"""Failure modes of rotating equipment, ISO 14224:2016 Tables B.6–B.8."""


def code_problem(table: Mapping[str, str], code: str, what: str) -> str | None:
    """Why ``code`` is not in ``table`` (None: it is)."""
    if code in table:
        return None
    return f"{code!r} is not an ISO 14224 {what} code; use one of {', '.join(table)}"
