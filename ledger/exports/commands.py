"""``certificate export --format`` and ``certificate status-list``: what they write."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from config import Settings
from ledger.bundle import build_bundle, bundle_json
from ledger.commands import ledger_store
from ledger.errors import ExportError
from ledger.exports.aasx import HandedOverFile, Operator, part_aasx
from ledger.exports.did import did_key
from ledger.exports.en10204 import inspection_document
from ledger.exports.status_list import REVOCATION, STATUS_PURPOSES, status_list_credential
from ledger.exports.vc import certificate_credential, sign_credential
from ledger.links import PublicLinks
from ledger.sitechain import site_key
from ledger.stored import checked_part
from ledger.tables import LeafRow
from models import Clock, ProofBundle, SystemClock


class ExportFormat(StrEnum):
    """What ``certificate export --format`` writes."""

    BUNDLE = "bundle"  # the proof bundle JSON (the default)
    AASX = "aasx"  # the part's Asset Administration Shell package
    VC = "vc"  # a W3C Verifiable Credential as compact JWS (application/vc+jwt)
    EN10204 = "en10204"  # an EN 10204 3.1 inspection document (JSON)


def export_certificate(
    settings: Settings,
    serial: str,
    export_format: ExportFormat,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> bytes:
    """The part's certificate in ``export_format``; the signed records are re-derived first."""
    now = (clock or SystemClock()).now()
    certificate, bundle = _stored_bundle(settings, serial, now)
    links = PublicLinks(settings.ledger.public_base_url)
    if export_format is ExportFormat.BUNDLE:
        return bundle_json(bundle).encode()
    if export_format is ExportFormat.EN10204:
        document = inspection_document(
            bundle, manufacturer=settings.site.name, verify_url=links.verify_url(serial)
        )
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    if export_format is ExportFormat.VC:
        key = site_key(settings, os.environ if environ is None else environ)
        credential = certificate_credential(
            bundle.certificate,
            issuer=did_key(key.public_key),
            status_index=certificate.seq,
            links=links,
        )
        return (sign_credential(credential, key) + "\n").encode()
    return part_aasx(
        bundle,
        operator=Operator(name=settings.site.name, facility=settings.site.name),
        links=links,
        documents=_handed_over(settings, serial, bundle, now),
        now=now,
    )


def status_list(
    settings: Settings,
    purpose: str = REVOCATION,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> bytes:
    """The site's signed status list (compact JWS) for ``purpose``: the bit of every revoked
    (or, for ``suspension``, every certificate a recall holds now) part set."""
    if purpose not in STATUS_PURPOSES:
        raise ExportError(f"no status list for {purpose!r}: one of {', '.join(STATUS_PURPOSES)}")
    key = site_key(settings, os.environ if environ is None else environ)
    store = ledger_store(settings)
    try:
        positions = (
            store.revoked_positions() if purpose == REVOCATION else store.suspended_positions()
        )
    finally:
        store.close()
    credential = status_list_credential(
        url=PublicLinks(settings.ledger.public_base_url).status_list_url(purpose),
        issuer=did_key(key.public_key),
        purpose=purpose,
        set_bits=positions,
        valid_from=(clock or SystemClock()).now(),
    )
    return (sign_credential(credential, key) + "\n").encode()


def _stored_bundle(settings: Settings, serial: str, now: datetime) -> tuple[LeafRow, ProofBundle]:
    store = ledger_store(settings)
    try:
        part = checked_part(store, serial)
    finally:
        store.close()
    return part.certificate, build_bundle(part.certificate, part.later, now)


def _handed_over(
    settings: Settings, serial: str, bundle: ProofBundle, now: datetime
) -> list[HandedOverFile]:
    """The documents the AASX hands over: certificate, proof bundle, printable report."""
    from ledger.report import part_report_html  # matplotlib loads only for this format

    certificate = json.dumps(bundle.certificate.document, indent=2, ensure_ascii=False)
    return [
        HandedOverFile(
            "certificate.json", "Part certificate", "application/json", certificate.encode()
        ),
        HandedOverFile(
            "proof-bundle.json", "Proof bundle", "application/json", bundle_json(bundle).encode()
        ),
        HandedOverFile(
            "report.html",
            "Quality report",
            "text/html",
            part_report_html(settings, serial, now).encode(),
        ),
    ]
