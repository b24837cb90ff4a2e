"""A part certificate laid out as an EN 10204:2004 type 3.1 inspection document (IDTA 02032)."""

from __future__ import annotations

from collections.abc import Mapping

from ledger.canonical import JsonObject, JsonValue
from ledger.exports.fields import json_object
from models import ProofBundle

SCHEMA = "trustfloor.en10204-3.1/1"
STATEMENT = (
    "We confirm that the product supplied complies with the requirements of the order: the part "
    "was printed from the registered design dossier and its recorded process data lie within "
    "the design's process window (EN 10204:2004, inspection certificate 3.1)."
)
NOT_COMPLIANT = (
    "The product does NOT comply: its recorded process data left the design's process window; "
    "no statement of compliance is given."
)


def inspection_document(bundle: ProofBundle, *, manufacturer: str, verify_url: str) -> JsonObject:
    """The 3.1 document of the part in ``bundle``; groups follow EN 10168's A/B/C/Z blocks."""
    record = bundle.certificate
    certificate = record.document
    design = json_object(certificate["design"])
    evidence = json_object(certificate["evidence"])
    passed = certificate["verdict"] == "pass"
    return {
        "schema": SCHEMA,
        "document_type": "EN 10204:2004 3.1",
        "commercial": {
            "manufacturer": manufacturer,
            "document_number": f"{certificate['serial']}/{record.leaf_hash[:16]}",
            "order": certificate["order"],
            "customer": certificate.get("customer", ""),
        },
        "product": {
            "designation": f"{design['id']} revision {design['revision']}",
            "design_dossier_sha256": design["dossier_sha256"],
            "serial": certificate["serial"],
            "batch": certificate.get("material_lot", "unknown"),
            "quantity": 1,
            "identification_link": verify_url,
        },
        "tests": {
            "process": _process_results(evidence),
            "inspections": certificate.get("inspections", []),
        },
        "validation": {
            "statement_of_compliance": STATEMENT if passed else NOT_COMPLIANT,
            "compliant": passed,
            "date": certificate["issued_at"],
            "originator": certificate["issuer"],
            "signature": record.signature,
            "signed_leaf_sha256": record.leaf_hash,
            "anchored": record.anchor is not None,
        },
    }


def _process_results(evidence: Mapping[str, JsonValue]) -> JsonObject:
    parameters = json_object(evidence["parameters"])
    return {
        "printed_from": evidence["started_at"],
        "printed_until": evidence["ended_at"],
        "layers": evidence["layers"],
        "samples": evidence["samples"],
        "samples_sha256": evidence["samples_sha256"],
        "result": evidence["verdict"],
        "parameters": {
            name: {
                key: json_object(stats)[key]
                for key in ("min", "max", "mean", "out_of_window_s")
                if key in json_object(stats)
            }
            for name, stats in parameters.items()
        },
    }
