"""``trustfloor recall`` (create, show, list, close-part, release/cancel-orders), ``take-back``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ledger import recall
from models import ExitCode
from opcua_server.cli.options import Subcommands, add_site_options, site_settings_of
from opcua_server.cli.trace import add_criteria_options, criteria_of
from opcua_server.runtime.recalls import RecallOffice, RecallOpened, open_recall_office

T = TypeVar("T")

SHOW_FORMATS = ("text", "json", "epcis", "cx", "csv")


def add_recall_commands(sub: Subcommands) -> None:
    """``recall`` with its subcommands, and ``take-back``."""
    recall_cmd = sub.add_parser("recall", help="recall campaigns").add_subparsers(
        dest="recall_command", required=True
    )
    create = recall_cmd.add_parser(
        "create", help="freeze the parts the criteria name, suspend them, hold open orders"
    )
    add_criteria_options(create)
    create.add_argument("--reason", required=True, help="why the parts are recalled")
    create.add_argument(
        "--disposition",
        choices=[d.value for d in recall.Disposition],
        default=recall.Disposition.QUARANTINE.value,
        help="what holders are asked to do (default quarantine)",
    )
    create.add_argument(
        "--revoke", action="store_true", help="revoke the certificates instead of suspending"
    )
    _add_common(create)
    create.set_defaults(func=cmd_recall_create)

    show = recall_cmd.add_parser("show", help="a campaign's progress and each part's closure")
    show.add_argument("campaign")
    show.add_argument(
        "--format",
        choices=SHOW_FORMATS,
        default="text",
        help="text (default), json, epcis (GS1 EPCIS 2.0 JSON-LD), cx (Catena-X style quality "
        "alert) or csv",
    )
    show.add_argument("--json", action="store_true", help="the same as --format json")
    show.add_argument("--sender-bpn", default="", help="cx: the sender's business partner number")
    show.add_argument("--recipient-bpn", default="", help="cx: the recipient's BPN")
    add_site_options(show)
    show.set_defaults(func=cmd_recall_show)

    listing = recall_cmd.add_parser("list", help="every campaign with its progress")
    add_site_options(listing)
    listing.set_defaults(func=cmd_recall_list)

    close = recall_cmd.add_parser("close-part", help="record how one affected part ended")
    close.add_argument("campaign")
    close.add_argument("serial")
    close.add_argument(
        "--as", dest="closure", required=True, choices=[c.value for c in recall.Closure]
    )
    close.add_argument("--note", default="", help="what was found or done")
    close.add_argument(
        "--revision", default="", help="replaced: the design revision of the replacement order"
    )
    _add_common(close)
    close.set_defaults(func=cmd_recall_close_part)

    for name, what, func in (
        (
            "release-orders",
            "release the orders a campaign still holds, each to the state it had",
            cmd_recall_release_orders,
        ),
        ("cancel-orders", "cancel the orders a campaign still holds", cmd_recall_cancel_orders),
    ):
        orders = recall_cmd.add_parser(name, help=what)
        orders.add_argument("campaign")
        _add_common(orders)
        orders.set_defaults(func=func)

    take_back = sub.add_parser("take-back", help="record a part taken back at its end of life")
    take_back.add_argument("serial")
    take_back.add_argument(
        "--dismantled", action="store_true", help="the part was dismantled as well"
    )
    take_back.add_argument("--note", default="")
    _add_common(take_back)
    take_back.set_defaults(func=cmd_take_back)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", default=getpass.getuser(), help="who does it (default: you)")
    parser.add_argument("--json", action="store_true")
    add_site_options(parser)


def _with_office(args: argparse.Namespace, work: Callable[[RecallOffice], Awaitable[T]]) -> T:
    settings = site_settings_of(args)

    async def run() -> T:
        async with open_recall_office(settings) as office:
            return await work(office)

    return asyncio.run(run())


def cmd_recall_create(args: argparse.Namespace) -> int:
    criteria = criteria_of(args)
    opened = _with_office(
        args,
        lambda office: office.open_campaign(
            criteria,
            reason=args.reason,
            disposition=recall.Disposition(args.disposition),
            revoke=args.revoke,
            opened_by=args.by,
        ),
    )
    print(json.dumps(opened.document(), indent=2) if args.json else render_opened(opened))
    return ExitCode.OK


def render_opened(opened: RecallOpened) -> str:
    campaign = opened.opened.campaign
    kind = "revoked" if campaign.action is recall.CampaignAction.REVOKE else "suspended"
    anchor = (
        f"anchored by {opened.anchor.tx_hash} in block {opened.anchor.block_number}"
        if opened.anchor is not None
        else "not anchored yet (the site anchors it on its next tick)"
    )
    return "\n".join(
        [
            f"recall {campaign.id}: {len(opened.opened.parts)} part(s), "
            f"{len(opened.opened.records)} certificate(s) {kind} in one batch, {anchor}",
            f"  affected list sha256 {campaign.affected_sha256}",
            f"  parts       {', '.join(p.serial for p in opened.opened.parts)}",
            f"  held orders {', '.join(opened.held) or 'none'}",
            f"  webhook     {opened.notified}",
        ]
    )


def cmd_recall_show(args: argparse.Namespace) -> int:
    chosen = "json" if args.json else args.format

    async def export(office: RecallOffice) -> str:
        if chosen == "epcis":
            return json.dumps(await office.epcis(args.campaign), indent=2) + "\n"
        if chosen == "cx":
            alert = await office.quality_alert(
                args.campaign, sender_bpn=args.sender_bpn, recipient_bpn=args.recipient_bpn
            )
            return json.dumps(alert, indent=2) + "\n"
        shown = await office.show(args.campaign)
        if chosen == "csv":
            parts = shown["parts"]
            assert isinstance(parts, list)
            return recall.csv_text(recall.RECALL_COLUMNS, parts)
        if chosen == "json":
            return json.dumps(shown, indent=2) + "\n"
        return render_campaign(shown) + "\n"

    sys.stdout.write(_with_office(args, export))
    return ExitCode.OK


def render_campaign(shown: dict[str, object]) -> str:
    progress = shown["progress"]
    assert isinstance(progress, dict)
    lines = [
        f"recall {shown['id']} ({shown['state']}): {progress['closed']} of {progress['total']} "
        f"part(s) closed; {shown['action']}, disposition {shown['disposition']}",
        f"  reason      {shown['reason']}",
        f"  opened      {shown['opened_at']} by {shown['opened_by']}",
    ]
    parts = shown["parts"]
    assert isinstance(parts, list)
    for part in parts:
        closure = part["closure"] or "open"
        who = f" by {part['closed_by']} at {part['closed_at']}" if part["closure"] else ""
        replacement = (
            f", replacement order {part['replacement_order']}" if part["replacement_order"] else ""
        )
        lines.append(f"  {part['serial']}  {closure}{who}{replacement}")
    lines.append(f"  held orders {_held_orders_line(shown)}")
    return "\n".join(lines)


def _held_orders_line(shown: dict[str, object]) -> str:
    held = shown.get("held_orders") or []
    still = shown.get("orders_still_held") or []
    assert isinstance(held, list)
    assert isinstance(still, list)
    if not held:
        return "none"
    return f"{', '.join(held)} ({len(still)} still held)"


def cmd_recall_list(args: argparse.Namespace) -> int:
    async def listing(office: RecallOffice) -> list[dict[str, object]]:
        return [await office.show(c.id) for c in await office.campaigns_list()]

    for shown in _with_office(args, listing):
        print(render_campaign(shown).splitlines()[0])
    return ExitCode.OK


def cmd_recall_close_part(args: argparse.Namespace) -> int:
    recorded = _with_office(
        args,
        lambda office: office.close_part(
            args.campaign,
            args.serial,
            recall.Closure(args.closure),
            by=args.by,
            note=args.note,
            replacement_revision=args.revision,
        ),
    )
    part = recorded.closed.part
    result: dict[str, object] = {
        "campaign": args.campaign,
        "serial": part.serial,
        "closure": args.closure,
        "record": None if recorded.closed.record is None else recorded.closed.record.kind.value,
        "replacement_order": None if recorded.replacement is None else recorded.replacement.id,
        "campaign_closed": recorded.closed.campaign_closed,
        "released_orders": list(recorded.released),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        record = f", {result['record']} record issued" if result["record"] else ""
        replaced = (
            f", replacement order {result['replacement_order']}"
            if result["replacement_order"]
            else ""
        )
        closed = f"; campaign {args.campaign} closed" if recorded.closed.campaign_closed else ""
        released = f"; orders released: {', '.join(recorded.released)}" if recorded.released else ""
        print(f"{part.serial}: {args.closure}{record}{replaced}{closed}{released}")
    return ExitCode.OK


def cmd_recall_release_orders(args: argparse.Namespace) -> int:
    released = _with_office(args, lambda office: office.release_orders(args.campaign, by=args.by))
    return _report_orders(args, "released", released)


def cmd_recall_cancel_orders(args: argparse.Namespace) -> int:
    cancelled = _with_office(args, lambda office: office.cancel_orders(args.campaign, by=args.by))
    return _report_orders(args, "cancelled", cancelled)


def _report_orders(args: argparse.Namespace, done: str, order_ids: tuple[str, ...]) -> int:
    if args.json:
        print(json.dumps({"campaign": args.campaign, done: list(order_ids)}, indent=2))
    else:
        listed = ", ".join(order_ids) or "none (the campaign holds no order now)"
        print(f"recall {args.campaign}: orders {done}: {listed}")
    return ExitCode.OK


def cmd_take_back(args: argparse.Namespace) -> int:
    events = [recall.LifeEvent.TAKEN_BACK]
    if args.dismantled:
        events.append(recall.LifeEvent.DISMANTLED)

    async def record(office: RecallOffice) -> list[recall.LifeRecord]:
        return [
            await office.end_of_life(args.serial, event, by=args.by, note=args.note)
            for event in events
        ]

    for done in _with_office(args, record):
        print(f"{done.serial}: {done.event.value} by {done.by} at {done.at.isoformat()}")
    return ExitCode.OK
