"""``trustfloor trace``: which parts a lot, printer, design, dossier, order or serial names."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from ledger import TraceCriteria
from models import ExitCode
from opcua_server.cli.options import Subcommands, add_site_options, site_settings_of
from opcua_server.runtime.aftersales import (
    TraceLine,
    TraceReport,
    open_aftersales,
    trace_csv,
    trace_epcis,
)

TRACE_FORMATS = ("text", "json", "epcis", "csv")


def add_trace_commands(sub: Subcommands) -> None:
    """``trace`` with the criteria every after-sales command shares."""
    trace = sub.add_parser(
        "trace", help="parts by lot, printer and window, design, dossier, order or serial"
    )
    add_criteria_options(trace)
    trace.add_argument(
        "--upstream",
        action="store_true",
        help="also where each part came from: lot, printer, dossier, evidence, inspections, "
        "the printer's health at build",
    )
    trace.add_argument(
        "--format",
        choices=TRACE_FORMATS,
        default="text",
        help="text (default), json, epcis (GS1 EPCIS 2.0 JSON-LD) or csv",
    )
    trace.add_argument("--json", action="store_true", help="the same as --format json")
    add_site_options(trace)
    trace.set_defaults(func=cmd_trace)


def add_criteria_options(parser: argparse.ArgumentParser) -> None:
    """The criteria of ``trace`` and ``recall create``: parts must match every one given."""
    parser.add_argument("--lot", default="", help="material lot the parts were printed from")
    parser.add_argument("--printer", default="", help="printer that built the parts")
    parser.add_argument(
        "--from",
        dest="start",
        type=moment,
        metavar="TIME",
        help="built at or after (ISO 8601 with zone)",
    )
    parser.add_argument(
        "--until", type=moment, metavar="TIME", help="built before (ISO 8601 with zone)"
    )
    parser.add_argument("--design", default="", help="design id")
    parser.add_argument("--revision", default="", help="design revision (with --design)")
    parser.add_argument("--dossier", default="", help="dossier SHA-256 (hex)")
    parser.add_argument("--order", default="", help="print order id")
    parser.add_argument("--serial", default="", help="one part's serial")


def moment(text: str) -> datetime:
    """An ISO 8601 time with its zone (``Z`` or an offset)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: add Z or +01:00")
    return value


def criteria_of(args: argparse.Namespace) -> TraceCriteria:
    """The criteria the command line named (TraceCriteriaError when none or contradictory)."""
    return TraceCriteria(
        lot=args.lot,
        printer=args.printer,
        design=args.design,
        revision=args.revision,
        dossier=args.dossier,
        order=args.order,
        serial=args.serial,
        start=args.start,
        until=args.until,
    )


def cmd_trace(args: argparse.Namespace) -> int:
    criteria = criteria_of(args)
    settings = site_settings_of(args)

    async def run() -> TraceReport:
        async with open_aftersales(settings) as aftersales:
            return await aftersales.trace(criteria, upstream=args.upstream)

    report = asyncio.run(run())
    chosen = "json" if args.json else args.format
    if chosen == "json":
        print(json.dumps(report.document(), indent=2))
    elif chosen == "epcis":
        print(json.dumps(trace_epcis(report, datetime.now(UTC)), indent=2))
    elif chosen == "csv":
        sys.stdout.write(trace_csv(report))
    else:
        print(render_trace(report))
    return ExitCode.OK


def render_trace(report: TraceReport) -> str:
    """The trace as a person reads it: one line per part, then the open orders."""
    lines = [f"trace: {report.criteria.describe()}: {len(report.lines)} part(s)"]
    lines += [_part_line(line) for line in report.lines]
    if report.open_orders:
        lines.append(f"open orders ({len(report.open_orders)}):")
        lines += [
            f"  {o.id}  {o.design_id} rev {o.design_revision} x{o.quantity}  {o.state.value}"
            + (f"  lot {o.material_lot}" if o.material_lot else "")
            for o in report.open_orders
        ]
    else:
        lines.append("open orders: none")
    return "\n".join(lines)


def _part_line(line: TraceLine) -> str:
    part, job = line.part, line.part.job
    verdict = part.verdict.value if part.verdict is not None else "-"
    order = f"{job.order_id} ({line.order.state.value})" if line.order else job.order_id
    fitted = (
        f"for {line.alert.machine}/{line.alert.component}" if line.alert is not None else "in stock"
    )
    text = (
        f"  {job.serial}  {job.design.id} rev {job.design.revision}  {job.printer}"
        f"  lot {job.material_lot or '-'}  built {job.started_at.isoformat()}"
        f"  certificate {part.status.value}  verdict {verdict}  order {order}  {fitted}"
    )
    for campaign, closure in line.recalls:
        text += f"  recall {campaign} ({'open' if closure is None else closure.value})"
    for record in line.life:
        text += f"  {record.event.value} {record.at.date().isoformat()}"
    if part.upstream is not None:
        text += "\n    upstream " + json.dumps(part.upstream, sort_keys=True)
    return text
