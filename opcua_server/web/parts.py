"""A part as the console shows it, read from its signed certificate and its proof bundle (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import RecordKind, parse_json_text


@dataclass(frozen=True, slots=True)
class ParameterLine:
    """One process parameter of the evidence: its statistics and time outside the window."""

    name: str
    samples: int
    low: float | None
    high: float | None
    mean: float | None
    out_of_window_s: float
    excursions: int


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain transaction whose root covers the certificate."""

    chain_id: int
    tx_hash: str
    block_number: int
    root: str


@dataclass(frozen=True, slots=True)
class PartSummary:
    """What the console says about one certificate; fields the certificate lacks stay empty."""

    serial: str
    design_id: str = ""
    revision: str = ""
    oem: str = ""
    printer: str = ""
    order_id: str = ""
    material_lot: str = ""
    verdict: str = ""
    reasons: tuple[str, ...] = ()
    issued_at: str = ""
    issuer: str = ""
    status: str = "valid"
    anchor: Anchor | None = None
    health: dict[str, Any] | None = None
    health_at_build: dict[str, Any] = field(default_factory=dict)
    """The printer's own health at the job's start and end (schema 2), by moment."""
    parameters: tuple[ParameterLine, ...] = ()
    inspections: tuple[dict[str, Any], ...] = ()
    certificate: dict[str, Any] = field(default_factory=dict)

    @property
    def proof(self) -> str:
        """Where the proof stands: anchored on chain, or waiting for the next batch."""
        return "anchored" if self.anchor is not None else "awaiting anchor"


def part_summary(serial: str, certificate_json: str, bundle_json: str | None) -> PartSummary:
    """The summary of ``serial`` from its certificate's JSON and, when there is one, its bundle."""
    doc = _object(parse_json_text(certificate_json, what="the certificate"))
    bundle = _object(parse_json_text(bundle_json, what="the bundle")) if bundle_json else {}
    design = _object(doc.get("design"))
    evidence = _object(doc.get("evidence"))
    return PartSummary(
        serial=str(doc.get("serial", serial)),
        design_id=str(design.get("id", "")),
        revision=str(design.get("revision", "")),
        oem=str(design.get("oem", doc.get("oem", ""))),
        printer=str(doc.get("printer", "")),
        order_id=str(doc.get("order_id", doc.get("order", ""))),
        material_lot=_lot(doc.get("material_lot")),
        verdict=str(doc.get("verdict", "")),
        reasons=tuple(str(r) for r in doc.get("reasons", ()) or ()),
        issued_at=str(doc.get("issued_at", "")),
        issuer=str(doc.get("issuer", "")),
        status=certificate_status(bundle),
        anchor=_anchor(_object(bundle.get("certificate")).get("anchor")),
        health=_object(doc["health"]) if isinstance(doc.get("health"), dict) else None,
        health_at_build=_object(doc.get("health_at_build")),
        parameters=_parameters(evidence.get("parameters")),
        inspections=tuple(_object(i) for i in doc.get("inspections", ()) or ()),
        certificate=doc,
    )


def certificate_status(bundle: dict[str, Any]) -> str:
    """valid, suspended or revoked, as the site's latest records say."""
    status = str(bundle.get("status", ""))
    if status in ("suspended", "revoked"):
        return status
    if bundle.get("revocation") == "revoked":
        return "revoked"
    return "suspended" if held_by_a_recall(bundle.get("records", [])) else "valid"


def held_by_a_recall(records: object) -> bool:
    """Whether the last suspension among the bundle's later records is not lifted yet."""
    held = False
    for record in records if isinstance(records, list) else []:
        kind = record.get("kind") if isinstance(record, dict) else None
        if kind in (RecordKind.SUSPENSION.value, RecordKind.REINSTATEMENT.value):
            held = kind == RecordKind.SUSPENSION.value
    return held


def _lot(value: object) -> str:
    """The material lot: a plain id (schema 1) or an object with an id."""
    if isinstance(value, dict):
        return str(value.get("id", value.get("lot", "")))
    return "" if value is None else str(value)


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _parameters(raw: object) -> tuple[ParameterLine, ...]:
    """Evidence per parameter: a list of entries with their names (schema 1) or an object by
    name (schema 2)."""
    if isinstance(raw, dict):
        return tuple(_parameter(str(name), _object(entry)) for name, entry in raw.items())
    if isinstance(raw, list):
        return tuple(_parameter(str(_object(e).get("parameter", "")), _object(e)) for e in raw)
    return ()


def _parameter(name: str, p: dict[str, Any]) -> ParameterLine:
    excursions = p.get("excursions")
    listed = len(excursions) if isinstance(excursions, list) else 0
    return ParameterLine(
        name=name,
        samples=int(p.get("samples", 0) or 0),
        low=_number(p.get("min")),
        high=_number(p.get("max")),
        mean=_number(p.get("mean")),
        out_of_window_s=float(p.get("out_of_window_s", 0.0) or 0.0),
        excursions=int(p.get("excursion_count", p.get("excursions_total", listed)) or 0),
    )


def _anchor(raw: object) -> Anchor | None:
    a = _object(raw)
    if not a.get("tx_hash"):
        return None
    return Anchor(
        chain_id=int(a.get("chain_id", 0)),
        tx_hash=str(a["tx_hash"]),
        block_number=int(a.get("block_number", 0)),
        root=str(a.get("root", "")),
    )
