"""The part report's HTML page: verdict, identity, process-window checks, inspections, proof."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import segno

from ledger.documents import iso
from ledger.evidence import samples_digest
from ledger.exports.en10204 import NOT_COMPLIANT, STATEMENT
from ledger.report.html import STYLE, key_values, num, section, table, table_cells, text
from ledger.report.part import (
    PartRecords,
    Standing,
    revocation_record,
    sample_counts,
    seconds_since,
    window_of,
)
from ledger.report.plots import plots_section
from ledger.tables import LeafRow
from models import DesignDossier, ParameterWindow, RecordKind, Verdict, VerificationReport


def render_part_report(
    part: PartRecords, report: VerificationReport, standing: Standing, generated_at: datetime
) -> str:
    """The whole report as one HTML document (inline CSS, plots as data URIs)."""
    doc = part.document
    title = f"Part {doc['serial']}: {standing.word}"
    sections = [
        f"<header><h1>Part certificate report: {text(doc['serial'])}</h1>"
        f'<p class="generated">Generated {text(iso(generated_at))} from the ledger of the '
        f"issuing site.</p></header>",
        verdict_section(standing, doc),
        identity_section(doc, part.dossier),
        identification_section(doc),
        en10204_section(doc),
        checks_section(part),
        plots_section(part),
        inspections_section(part),
        proof_section(part, report),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{text(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def verdict_section(standing: Standing, doc: dict[str, Any]) -> str:
    """The verdict, large, in colour and in words, with every reason."""
    mark = "✓" if standing.css == "pass" else "✗"
    if standing.reasons:
        reasons = "<ul>" + "".join(f"<li>{text(r)}</li>" for r in standing.reasons) + "</ul>"
    else:
        reasons = (
            "<p>Every process parameter stayed within its window and every inspection passed.</p>"
        )
    stated = f"The certificate states: {str(doc['verdict']).upper()}."
    return (
        f'<section id="verdict" class="verdict {standing.css}">'
        f'<p class="word"><span class="mark">{mark}</span> {text(standing.word)}</p>'
        f'<p class="stated">{text(stated)}</p>{reasons}{_notes(doc)}</section>'
    )


def _notes(doc: dict[str, Any]) -> str:
    """What the certificate notes without failing the part: an unknown lot, evidence gaps."""
    notes = [str(n) for n in doc.get("notes", [])]
    if not notes:
        return ""
    items = "".join(f"<li>{text(n)}</li>" for n in notes)
    return f'<p class="noted">Noted (fails nothing by itself):</p><ul class="notes">{items}</ul>'


def identification_section(doc: dict[str, Any]) -> str:
    """The part's identification link (IEC 61406 style) as a QR code and in words."""
    url = str(doc.get("verify_url", ""))
    if not url:
        body = (
            "<p>No identification link: the issuing site had no public address "
            "(<code>ledger.public_base_url</code>) when it certified the part.</p>"
        )
    else:
        code = segno.make(url, error="m").svg_inline(scale=3, title=f"QR code: {url}")
        body = f'<div class="qr">{code}</div><p>{text(url)}</p>'
    return section("identification", "Identification link", body)


def en10204_section(doc: dict[str, Any]) -> str:
    """The certificate read as an EN 10204:2004 type 3.1 inspection certificate."""
    passed = doc.get("verdict") == Verdict.PASS.value
    rows = [
        ("Document", "EN 10204:2004 inspection certificate 3.1"),
        ("Batch (material lot)", doc.get("material_lot", "unknown")),
        ("Statement of compliance", STATEMENT if passed else NOT_COMPLIANT),
        ("Originator (issuer)", doc.get("issuer", "")),
        ("Date", doc.get("issued_at", "")),
    ]
    return section("en10204", "Inspection certificate (EN 10204 3.1)", key_values(rows))


def identity_section(doc: dict[str, Any], dossier: DesignDossier | None) -> str:
    """Who made the part, from what, for whom, and who certified it."""
    design = doc["design"]
    evidence = doc["evidence"]
    name = f" ({dossier.name})" if dossier is not None and dossier.name else ""
    rows = [
        ("Serial", doc["serial"]),
        ("Design", f"{design['id']} revision {design['revision']}{name}"),
        ("Dossier SHA-256", design["dossier_sha256"]),
        ("Printer", doc["printer"]),
        ("Order", doc["order"]),
        ("Job", doc["job"]),
        ("Material lot", doc["material_lot"]),
        *_lot_source_rows(doc),
        ("Printed", f"{evidence['started_at']} to {evidence['ended_at']}"),
        ("Layers", f"{evidence['layers']['done']} of {evidence['layers']['planned']} planned"),
    ]
    if "health" in doc:
        health = doc["health"]
        rows.append(("Printer health", f"{health['score']} (model {health['model_version']})"))
    rows += health_at_build_rows(doc)
    rows += [("Issued at", doc["issued_at"]), ("Issuer", doc["issuer"])]
    return section("identity", "Identity", key_values(rows))


def checks_section(part: PartRecords) -> str:
    """The process-window checks, one row per parameter."""
    doc = part.document
    evidence = doc["evidence"]
    counts = sample_counts(part.samples)
    reasons = [str(r) for r in doc.get("reasons", [])]
    headers = [
        "Parameter",
        "Unit",
        "Window min",
        "Window max",
        "Tolerance (s)",
        "Samples",
        "Min",
        "Max",
        "Mean",
        "Std",
        "Out of window (s)",
        "Excursions",
        "Result",
    ]
    rows = [
        _check_row(
            name, stats, window_of(part, name), counts.get(name), _fails(name, reasons), evidence
        )
        for name, stats in evidence["parameters"].items()
    ]
    note = (
        f"<p>{text(evidence['samples'])} samples recorded; evidence verdict "
        f"{text(str(evidence['verdict']).upper())}. {text(_digest_note(part))}</p>"
    )
    return section("checks", "Process-window checks", table(headers, rows, "checks") + note)


def _check_row(
    name: str,
    stats: dict[str, Any],
    window: ParameterWindow | None,
    samples: int | None,
    fails: bool,
    evidence: dict[str, Any],
) -> str:
    started = datetime.fromisoformat(evidence["started_at"])
    cells = [
        name,
        window.unit if window else "—",
        num(window.min if window else None),
        num(window.max if window else None),
        num(window.tolerance_s if window else None),
        "—" if samples is None else str(samples),
        num(stats["min"]),
        num(stats["max"]),
        num(stats["mean"]),
        num(stats["std"]),
        num(stats["out_of_window_s"]),
        _excursions_text(stats, started),
        "✗ fail" if fails else "✓ pass",
    ]
    css = "fails" if fails else "passes"
    return f'<tr class="{css}" data-parameter="{text(name)}">' + table_cells(cells) + "</tr>"


def _excursions_text(stats: dict[str, Any], started: datetime) -> str:
    listed = stats["excursions"]
    total = int(stats.get("excursions_total", len(listed)))
    if total == 0:
        return "none"
    spans = "; ".join(
        f"{_elapsed(e['start'], started)}–{_elapsed(e['end'], started)} s (worst {num(e['worst'])})"
        for e in listed
    )
    more = f"; {total - len(listed)} more" if total > len(listed) else ""
    return f"{total}: {spans}{more}"


def _fails(name: str, reasons: Sequence[str]) -> bool:
    """Whether the certificate gives a reason against parameter ``name`` (see evidence.py)."""
    return any(r.startswith(f"{name}:") for r in reasons)


def _digest_note(part: PartRecords) -> str:
    if not part.samples:
        return "No raw samples are kept at this site: the plots cannot be drawn."
    if samples_digest(part.samples) == part.document["evidence"]["samples_sha256"]:
        return "The raw samples plotted below match the certificate's samples digest."
    return (
        "WARNING: the raw samples kept at this site do not match the certificate's samples "
        "digest: the plots below may not show the certified data."
    )


def _elapsed(timestamp: str, started: datetime) -> str:
    return f"{seconds_since(timestamp, started):g}"


def inspections_section(part: PartRecords) -> str:
    """The inspections in the certificate, then those recorded after it was issued."""
    headers = ["Check", "Result", "Value", "Inspector", "At", "Note", "Recorded"]
    rows = [_inspection_row(i, "in the certificate") for i in part.document["inspections"]]
    rows += [
        _inspection_row(json.loads(row.body)["inspection"], f"later record: {_status(row)}")
        for row in part.later
        if row.kind is RecordKind.INSPECTION
    ]
    body = table(headers, rows, "inspections") if rows else "<p>No inspection results.</p>"
    return section("inspections", "Inspection results", body)


def _inspection_row(inspection: dict[str, Any], recorded: str) -> str:
    value = inspection.get("value")
    shown = "—" if value is None else f"{num(value)} {inspection.get('unit', '')}".strip()
    result = str(inspection["result"])
    cells = [
        inspection["check"],
        f"{'✓' if result == Verdict.PASS.value else '✗'} {result}",
        shown,
        inspection["inspector"],
        inspection["at"],
        inspection.get("note", ""),
        recorded,
    ]
    css = "passes" if result == Verdict.PASS.value else "fails"
    return f'<tr class="{css}">' + table_cells(cells) + "</tr>"


def proof_section(part: PartRecords, report: VerificationReport) -> str:
    """Where the certificate's leaf stands (batch, anchor), its revocation, the offline checks."""
    row = part.certificate
    rows = [("Status", _status(row)), ("Leaf hash", row.leaf_hash.hex())]
    if row.batch is not None:
        rows += [
            ("Batch", f"{row.batch.id}, sealed with {_leaves(row.batch.size)}"),
            ("Batch root", row.batch.root.hex()),
            ("Leaf index", f"{row.leaf_index} of {row.batch.size}"),
        ]
    if row.batch is not None and row.batch.receipt is not None:
        receipt = row.batch.receipt
        rows += [
            ("Chain", str(receipt.chain_id)),
            ("Contract", receipt.contract),
            ("Transaction", receipt.tx_hash),
            ("Block", str(receipt.block_number)),
        ]
    rows.append(("Revocation", _revocation_text(part)))
    checks = "".join(
        f'<li class="{"passes" if c.passed else "fails"}">{"✓" if c.passed else "✗"} '
        f"{text(c.name)}: {text(c.detail)}</li>"
        for c in report.checks
    )
    warnings = "".join(f'<p class="warning">Warning: {text(w)}</p>' for w in report.warnings)
    body = (
        key_values(rows) + "<h3>Offline verification of the proof bundle as exported now</h3>"
        f'{warnings}<ul class="checks">{checks}</ul>'
        "<p>Online verification against the chain: <code>trustfloor certificate export "
        f"{text(part.document['serial'])} &gt; bundle.json</code>, then "
        "<code>trustfloor verify bundle.json</code>.</p>"
    )
    return section("proof", "Proof status", body)


def _status(row: LeafRow) -> str:
    if row.batch is None:
        return "waiting for batch"
    if row.batch.receipt is None:
        return f"sealed in batch {row.batch.id}, not anchored yet"
    receipt = row.batch.receipt
    return (
        f"anchored in block {receipt.block_number} of chain {receipt.chain_id} "
        f"by transaction {receipt.tx_hash}"
    )


def _leaves(count: int) -> str:
    return "1 leaf" if count == 1 else f"{count} leaves"


def _revocation_text(part: PartRecords) -> str:
    row = revocation_record(part)
    if row is None:
        return "not revoked"
    doc = json.loads(row.body)
    return (
        f"REVOKED at {doc['issued_at']} by {doc['revoked_by']}: {doc['reason']} "
        f"(revocation record {_status(row)})"
    )


LOT_SOURCES = {
    "printer": "the printer (its feedstock at job start)",
    "order": "the print order (as the MES gave it)",
    "unknown": "unknown: neither the printer nor the order named one",
}


def _lot_source_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    source = doc.get("material_lot_source")
    if source is None:  # schema 1 said nothing of it
        return []
    return [("Material lot from", LOT_SOURCES.get(str(source), str(source)))]


def health_at_build_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The printer's own health at the job's start and end, and the gaps in its evidence
    (schema 2; a schema 1 certificate states none of it)."""
    if "health_at_build" not in doc:
        return []
    moments = doc["health_at_build"]
    rows = [
        (f"Printer at job {moment}", _health_words(moments.get(moment)))
        for moment in ("start", "end")
    ]
    gaps = doc.get("evidence_gaps", [])
    spans = "; ".join(f"{g['start']} to {g['end']} ({g['cause']})" for g in gaps)
    rows.append(("Evidence gaps", spans or "none"))
    return rows


def _health_words(health: dict[str, Any] | None) -> str:
    if health is None:
        return "did not answer"
    alarms = ", ".join(str(a) for a in health.get("alarms", [])) or "none"
    words = [f"{health['state']} at {health['at']}", f"alarms: {alarms}"]
    if "anomaly_score" in health:
        model = f" (model {health['model_version']})" if health.get("model_version") else ""
        words.append(f"anomaly score {health['anomaly_score']}{model}")
    if "hours_since_maintenance" in health:
        words.append(f"{health['hours_since_maintenance']} h since maintenance")
    return "; ".join(words)
