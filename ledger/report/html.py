"""HTML building blocks of the part report: escaped text, tables, sections, the print style."""

# Every text value is HTML-escaped, attribute content included.

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape


def num(value: object) -> str:
    """A statistic for a table cell: up to 6 significant digits, — when there is none."""
    if value is None:
        return "—"
    if isinstance(value, int | float):
        return f"{value:.6g}"
    return str(value)


def text(value: object) -> str:
    """Any value as HTML text or attribute content (quotes escaped too)."""
    return escape(str(value), quote=True)


def table_cells(values: Iterable[object]) -> str:
    """One table row's cells, each value escaped."""
    return "".join(f"<td>{text(v)}</td>" for v in values)


def table(headers: Sequence[str], rows: Sequence[str], css: str = "") -> str:
    """A table with a header row and the given rendered rows."""
    head = "".join(f"<th>{text(h)}</th>" for h in headers)
    body = "".join(rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def key_values(rows: Sequence[tuple[str, object]]) -> str:
    """A two-column table of facts: a name per row and its value."""
    body = "".join(f'<tr><th scope="row">{text(k)}</th><td>{text(v)}</td></tr>' for k, v in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


def section(anchor: str, title: str, body: str) -> str:
    """A titled section of the page, reachable at ``#anchor``."""
    return f'<section id="{anchor}"><h2>{text(title)}</h2>{body}</section>'


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
