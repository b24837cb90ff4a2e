"""The quality engineer's part report: one self-contained, printable HTML file with plots."""

# The report reads only this site's ledger store: the signed certificate (exactly as issued),
# the later records about the part, the job's raw samples and the registered dossier (for the
# windows' units and bounds). Plots are drawn by matplotlib's Agg canvas into memory and
# embedded as base64 PNG data URIs (RFC 2397), so the file needs nothing beside itself; every
# text value is HTML-escaped. A value holds until its parameter's next sample, as the evidence
# check counts it (ledger/evidence.py), so the plots draw steps.

from __future__ import annotations

import base64
import io
import json
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from config.settings import Settings
from ledger.bundle import build_bundle
from ledger.commands import CommandResult, ledger_store
from ledger.documents import iso
from ledger.errors import LedgerError, UnknownRecordError
from ledger.evidence import samples_digest
from ledger.store import LedgerStore
from ledger.stored import checked_part
from ledger.tables import JobState, LeafRow
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline
from models.exits import ExitCode
from models.parts import (
    DesignDossier,
    ParameterWindow,
    RecordKind,
    Sample,
    Verdict,
    VerificationReport,
)
from models.ports import Clock, SystemClock

LINE_COLOUR = "#1f4e79"
WINDOW_FILL = "#d3ead8"
BOUND_COLOUR = "#4d4d4d"
EXCURSION_COLOUR = "#c00000"
"""Excursions and out-of-window samples, and nothing else, are drawn in this colour."""
PLOT_DPI = 144


class ReportError(LedgerError):
    """The report could not be written where it was asked for."""

    advice = "Pass --out a path in an existing, writable folder."


@dataclass(frozen=True, slots=True)
class PartRecords:
    """What the site's ledger keeps about one part: everything its report shows."""

    certificate: LeafRow
    document: dict[str, Any]
    """The signed certificate as issued, parsed."""
    later: list[LeafRow]
    samples: list[Sample]
    dossier: DesignDossier | None


@dataclass(frozen=True, slots=True)
class Standing:
    """Where the part stands now: its verdict word, CSS class and the reasons for it."""

    word: str
    css: str
    reasons: tuple[str, ...]


def certificate_report(
    settings: Settings, serial: str, out: Path, clock: Clock | None = None
) -> CommandResult:
    """``trustfloor certificate report SERIAL --out part.html``: write the part's HTML report."""
    store = ledger_store(settings)
    try:
        part = load_part(store, serial)
    finally:
        store.close()
    now = (clock or SystemClock()).now()
    trust = IssuerTrust.pinning(
        settings.ledger.trusted_issuers, any_issuer=True, source="ledger.trusted_issuers"
    )
    report = verify_part(part, now, trust)
    standing = part_standing(part, report)
    write_atomically(out, render_part_report(part, report, standing, now))
    plots = len(part.document["evidence"]["parameters"])
    return CommandResult(
        ExitCode.OK, f"wrote {out}: part {serial}, {standing.word}, {plots} parameter plot(s)\n"
    )


def load_part(store: LedgerStore, serial: str) -> PartRecords:
    """The part's certificate, later records, raw samples and dossier; UnknownRecordError with
    what to do when the part has no certificate (yet), StoredRecordAlteredError when its
    stored records do not re-derive (ledger/stored.py)."""
    if store.leaf(serial, RecordKind.CERTIFICATE) is None:
        raise _no_certificate(store, serial)
    part = checked_part(store, serial)
    job = store.job_by_serial(serial)
    dossier = store.design(job.design_key)
    if dossier is not None and dossier.dossier_sha256 != job.job.design.dossier_sha256:
        dossier = None
    return PartRecords(
        certificate=part.certificate,
        document=dict(part.document),
        later=part.later,
        samples=store.samples(job.job.job_id),
        dossier=dossier,
    )


def _no_certificate(store: LedgerStore, serial: str) -> UnknownRecordError:
    try:
        state = store.job_by_serial(serial).state
    except UnknownRecordError:
        return UnknownRecordError(
            f"no part with serial {serial} at this site",
            advice="Check the serial (it is printed on the part and listed by the MES) and "
            "that --data-dir / the configuration point at the site that printed it.",
        )
    step = "finish the job" if state is JobState.PRINTING else "issue its certificate"
    return UnknownRecordError(
        f"part {serial} has no certificate yet: its job is {state.value}",
        advice=f"A report is made from a certificate: {step} first, then run the report again.",
    )


def write_atomically(out: Path, text: str) -> None:
    """Write ``text`` to ``out`` through a temporary file, so a reader never sees half a report."""
    partial = out.with_name(out.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ReportError(f"cannot write the report to {out}: {exc}") from exc


def verify_part(part: PartRecords, at: datetime, trust: IssuerTrust) -> VerificationReport:
    """The offline verification of the part's bundle as it would be exported now."""
    return verify_offline(build_bundle(part.certificate, part.later, at), trust=trust)


def part_standing(part: PartRecords, report: VerificationReport) -> Standing:
    """REVOKED, FAIL (certificate or a later inspection) or PASS, with every reason."""
    reasons = [str(r) for r in part.document.get("reasons", [])]
    revocation_row = _revocation_row(part)
    if revocation_row is not None:
        revocation = json.loads(revocation_row.body)
        revoked = (
            f"certificate revoked at {revocation['issued_at']} by {revocation['revoked_by']}: "
            f"{revocation['reason']}"
        )
        return Standing("REVOKED", "revoked", (revoked, *reasons))
    reasons += [
        f"later inspection {i['check']}: fail (by {i['inspector']} at {i['at']})"
        for i in _later_inspections(part)
        if i["result"] == Verdict.FAIL.value
    ]
    if report.part_verdict is Verdict.PASS:
        return Standing("PASS", "pass", tuple(reasons))
    return Standing("FAIL", "fail", tuple(reasons))


def _revocation_row(part: PartRecords) -> LeafRow | None:
    return next((row for row in part.later if row.kind is RecordKind.REVOCATION), None)


def _later_inspections(part: PartRecords) -> list[dict[str, Any]]:
    return [
        json.loads(row.body)["inspection"]
        for row in part.later
        if row.kind is RecordKind.INSPECTION
    ]


# ---------------------------------------------------------------------------------- the page


def render_part_report(
    part: PartRecords, report: VerificationReport, standing: Standing, generated_at: datetime
) -> str:
    """The whole report as one HTML document (inline CSS, plots as data URIs)."""
    doc = part.document
    title = f"Part {doc['serial']}: {standing.word}"
    sections = [
        f"<header><h1>Part certificate report: {_text(doc['serial'])}</h1>"
        f'<p class="generated">Generated {_text(iso(generated_at))} from the ledger of the '
        f"issuing site.</p></header>",
        verdict_section(standing, doc),
        identity_section(doc, part.dossier),
        checks_section(part),
        plots_section(part),
        inspections_section(part),
        proof_section(part, report),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_text(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def verdict_section(standing: Standing, doc: dict[str, Any]) -> str:
    """The verdict, large, in colour and in words, with every reason."""
    mark = "✓" if standing.css == "pass" else "✗"
    if standing.reasons:
        reasons = "<ul>" + "".join(f"<li>{_text(r)}</li>" for r in standing.reasons) + "</ul>"
    else:
        reasons = (
            "<p>Every process parameter stayed within its window and every inspection passed.</p>"
        )
    stated = f"The certificate states: {str(doc['verdict']).upper()}."
    return (
        f'<section id="verdict" class="verdict {standing.css}">'
        f'<p class="word"><span class="mark">{mark}</span> {_text(standing.word)}</p>'
        f'<p class="stated">{_text(stated)}</p>{reasons}</section>'
    )


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
        ("Printed", f"{evidence['started_at']} to {evidence['ended_at']}"),
        ("Layers", f"{evidence['layers']['done']} of {evidence['layers']['planned']} planned"),
    ]
    if "health" in doc:
        health = doc["health"]
        rows.append(("Printer health", f"{health['score']} (model {health['model_version']})"))
    rows += [("Issued at", doc["issued_at"]), ("Issuer", doc["issuer"])]
    return _section("identity", "Identity", _key_values(rows))


def checks_section(part: PartRecords) -> str:
    """The process-window checks, one row per parameter."""
    doc = part.document
    evidence = doc["evidence"]
    counts = _sample_counts(part.samples)
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
            name, stats, _window(part, name), counts.get(name), _fails(name, reasons), evidence
        )
        for name, stats in evidence["parameters"].items()
    ]
    note = (
        f"<p>{_text(evidence['samples'])} samples recorded; evidence verdict "
        f"{_text(str(evidence['verdict']).upper())}. {_text(_digest_note(part))}</p>"
    )
    return _section("checks", "Process-window checks", _table(headers, rows, "checks") + note)


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
        _num(window.min if window else None),
        _num(window.max if window else None),
        _num(window.tolerance_s if window else None),
        "—" if samples is None else str(samples),
        _num(stats["min"]),
        _num(stats["max"]),
        _num(stats["mean"]),
        _num(stats["std"]),
        _num(stats["out_of_window_s"]),
        _excursions_text(stats, started),
        "✗ fail" if fails else "✓ pass",
    ]
    css = "fails" if fails else "passes"
    return f'<tr class="{css}" data-parameter="{_text(name)}">' + _cells(cells) + "</tr>"


def _excursions_text(stats: dict[str, Any], started: datetime) -> str:
    listed = stats["excursions"]
    total = int(stats.get("excursions_total", len(listed)))
    if total == 0:
        return "none"
    spans = "; ".join(
        f"{_elapsed(e['start'], started)}–{_elapsed(e['end'], started)} s "
        f"(worst {_num(e['worst'])})"
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


def plots_section(part: PartRecords) -> str:
    """One plot per checked parameter: its values over the job, window shaded, excursions marked."""
    evidence = part.document["evidence"]
    started = datetime.fromisoformat(evidence["started_at"])
    ended = datetime.fromisoformat(evidence["ended_at"])
    series = _series(part.samples, started)
    figures = [
        _figure(name, stats, series.get(name, []), _window(part, name), (started, ended))
        for name, stats in evidence["parameters"].items()
    ]
    return _section("plots", "Process parameters over the job", "\n".join(figures))


def _figure(
    name: str,
    stats: dict[str, Any],
    points: list[tuple[float, float]],
    window: ParameterWindow | None,
    job: tuple[datetime, datetime],
) -> str:
    started, ended = job
    spans = [
        (_seconds(e["start"], started), _seconds(e["end"], started)) for e in stats["excursions"]
    ]
    total = int(stats.get("excursions_total", len(spans)))
    caption = f"{name}: {len(points)} samples"
    caption += f", {total} excursion(s) marked" if total else ", no excursion"
    if window is not None:
        caption += f"; window {_num(window.min)} to {_num(window.max)} {window.unit} shaded"
    attributes = f'class="plot" data-parameter="{_text(name)}" data-excursions="{total}"'
    if not points:
        shown = "<p>No samples kept.</p>"
    else:
        png = parameter_plot(name, points, window, spans, (ended - started).total_seconds())
        data = base64.b64encode(png).decode("ascii")
        shown = f'<img alt="{_text(caption)}" src="data:image/png;base64,{data}">'
    return f"<figure {attributes}>{shown}<figcaption>{_text(caption)}</figcaption></figure>"


def parameter_plot(
    name: str,
    points: Sequence[tuple[float, float]],
    window: ParameterWindow | None,
    excursions: Sequence[tuple[float, float]],
    duration_s: float,
) -> bytes:
    """A PNG of one parameter over the job (seconds since it started, value): each value held
    until the next sample and the last until the job ended, the window shaded, excursions
    hatched and their samples crossed."""
    figure = Figure(figsize=(7.2, 2.4), dpi=PLOT_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if window is not None:
        _shade_window(axes, window)
    held = [*points, (max(duration_s, points[-1][0]), points[-1][1])]
    axes.step(*zip(*held, strict=True), where="post", color=LINE_COLOUR, linewidth=1.2, label=name)
    _mark_excursions(axes, excursions)
    if window is not None:
        _cross_outside(axes, points, window)
    unit = f" ({window.unit})" if window is not None and window.unit else ""
    axes.set_xlim(0, held[-1][0] or 1)
    axes.margins(y=0.1)
    axes.set_xlabel("seconds since the job started", fontsize=8)
    axes.set_ylabel(f"{name}{unit}", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(True, color="#e0e0e0", linewidth=0.5)
    axes.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1, 1), ncols=4, frameon=False)
    figure.tight_layout(pad=0.4)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PLOT_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _shade_window(axes: Axes, window: ParameterWindow) -> None:
    axes.axhspan(window.min, window.max, facecolor=WINDOW_FILL, label="process window")
    for bound in (window.min, window.max):
        axes.axhline(bound, color=BOUND_COLOUR, linestyle="--", linewidth=0.8)


def _mark_excursions(axes: Axes, excursions: Sequence[tuple[float, float]]) -> None:
    """Hatched spans (they stay visible printed in black and white)."""
    for number, (start, end) in enumerate(excursions):
        axes.axvspan(
            start,
            max(end, start + 1e-3),
            facecolor=EXCURSION_COLOUR + "26",
            edgecolor=EXCURSION_COLOUR,
            hatch="///",
            linewidth=0.8,
            label="excursion" if number == 0 else None,
        )


def _cross_outside(
    axes: Axes, points: Sequence[tuple[float, float]], window: ParameterWindow
) -> None:
    outside = [(t, v) for t, v in points if not window.contains(v)]
    if outside:
        axes.plot(
            *zip(*outside, strict=True),
            linestyle="none",
            marker="x",
            markersize=6,
            markeredgewidth=1.6,
            color=EXCURSION_COLOUR,
            label="outside the window",
        )


def inspections_section(part: PartRecords) -> str:
    """The inspections in the certificate, then those recorded after it was issued."""
    headers = ["Check", "Result", "Value", "Inspector", "At", "Note", "Recorded"]
    rows = [_inspection_row(i, "in the certificate") for i in part.document["inspections"]]
    rows += [
        _inspection_row(json.loads(row.body)["inspection"], f"later record: {_status(row)}")
        for row in part.later
        if row.kind is RecordKind.INSPECTION
    ]
    body = _table(headers, rows, "inspections") if rows else "<p>No inspection results.</p>"
    return _section("inspections", "Inspection results", body)


def _inspection_row(inspection: dict[str, Any], recorded: str) -> str:
    value = inspection.get("value")
    shown = "—" if value is None else f"{_num(value)} {inspection.get('unit', '')}".strip()
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
    return f'<tr class="{css}">' + _cells(cells) + "</tr>"


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
        f"{_text(c.name)}: {_text(c.detail)}</li>"
        for c in report.checks
    )
    warnings = "".join(f'<p class="warning">Warning: {_text(w)}</p>' for w in report.warnings)
    body = (
        _key_values(rows) + "<h3>Offline verification of the proof bundle as exported now</h3>"
        f'{warnings}<ul class="checks">{checks}</ul>'
        "<p>Online verification against the chain: <code>trustfloor certificate export "
        f"{_text(part.document['serial'])} &gt; bundle.json</code>, then "
        "<code>trustfloor verify bundle.json</code>.</p>"
    )
    return _section("proof", "Proof status", body)


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
    row = _revocation_row(part)
    if row is None:
        return "not revoked"
    doc = json.loads(row.body)
    return (
        f"REVOKED at {doc['issued_at']} by {doc['revoked_by']}: {doc['reason']} "
        f"(revocation record {_status(row)})"
    )


# ---------------------------------------------------------------------------------- helpers


def _window(part: PartRecords, name: str) -> ParameterWindow | None:
    return None if part.dossier is None else part.dossier.process_window.get(name)


def _sample_counts(samples: Iterable[Sample]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for sample in samples:
        counts[sample.parameter] += 1
    return counts


def _series(samples: Iterable[Sample], started: datetime) -> dict[str, list[tuple[float, float]]]:
    """Each parameter's (seconds since ``started``, value) points, in time order."""
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for sample in samples:
        series[sample.parameter].append(((sample.ts - started).total_seconds(), sample.value))
    for points in series.values():
        points.sort()
    return series


def _seconds(timestamp: str, started: datetime) -> float:
    return (datetime.fromisoformat(timestamp) - started).total_seconds()


def _elapsed(timestamp: str, started: datetime) -> str:
    return f"{_seconds(timestamp, started):g}"


def _num(value: object) -> str:
    """A statistic for a table cell: up to 6 significant digits, — when there is none."""
    if value is None:
        return "—"
    if isinstance(value, int | float):
        return f"{value:.6g}"
    return str(value)


def _text(value: object) -> str:
    """Any value as HTML text or attribute content (quotes escaped too)."""
    return escape(str(value), quote=True)


def _cells(values: Iterable[object]) -> str:
    return "".join(f"<td>{_text(v)}</td>" for v in values)


def _table(headers: Sequence[str], rows: Sequence[str], css: str = "") -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    body = "".join(rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _key_values(rows: Sequence[tuple[str, object]]) -> str:
    body = "".join(f'<tr><th scope="row">{_text(k)}</th><td>{_text(v)}</td></tr>' for k, v in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_text(title)}</h2>{body}</section>'


STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "DejaVu Sans", Helvetica, Arial, sans-serif; color: #111;
  max-width: 190mm; margin: 8mm auto; padding: 0 4mm; background: #fff; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; border-bottom: 1.5px solid #333; padding-bottom: 1mm; margin: 6mm 0 2mm;
  break-after: avoid; }
h3 { font-size: 10.5pt; margin: 3mm 0 1mm; }
.generated { color: #444; margin: 0; font-size: 9pt; }
.verdict { border: 3px solid; padding: 3mm 5mm; margin: 4mm 0; break-inside: avoid; }
.verdict .word { font-size: 26pt; font-weight: bold; margin: 0; letter-spacing: 0.05em; }
.verdict .stated { margin: 1mm 0; font-weight: bold; }
.verdict ul { margin: 1mm 0 0; padding-left: 6mm; }
.verdict.pass { border-color: #0b6623; background: #e7f4ea; color: #0b3d17; }
.verdict.fail { border: 6px double #a50e0e; background: #fdecea; color: #5c0707; }
.verdict.revoked { border: 5px dashed #5c0707; background: #f4e6e6; color: #3d0505; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin: 1mm 0 2mm; }
th, td { border: 0.5px solid #888; padding: 0.8mm 1.2mm; text-align: left; vertical-align: top; }
thead th { background: #eee; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
table.checks { font-size: 7.5pt; }
table.checks th, table.checks td { padding: 0.6mm 0.7mm; }
table.checks td:first-child, table.checks td:nth-last-child(2) { overflow-wrap: anywhere; }
table.facts th { width: 32mm; background: #f5f5f5; font-weight: bold; }
table.facts td { overflow-wrap: anywhere; font: 8.5pt "DejaVu Sans Mono", monospace; }
tr.fails td { font-weight: bold; background: #fdecea; }
tr.fails td:last-child, li.fails { color: #a50e0e; }
ul.checks { font-size: 8.5pt; padding-left: 4mm; list-style: none; overflow-wrap: anywhere; }
ul.checks li.fails { font-weight: bold; }
p.warning { color: #8a5a00; font-weight: bold; }
figure.plot { margin: 2mm 0 4mm; break-inside: avoid; }
figure.plot img { width: 100%; height: auto; display: block; border: 0.5px solid #ccc; }
figcaption { font-size: 8.5pt; color: #333; margin-top: 1mm; }
code { font-size: 8.5pt; }
@page { size: A4; margin: 12mm 10mm 14mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 9.5pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section { break-inside: auto; }
  figure.plot { break-inside: avoid; page-break-inside: avoid; }
  h2 { page-break-after: avoid; }
}
"""
