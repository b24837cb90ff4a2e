"""`trustfloor maintenance`: work requests, their closures with ISO 14224 codes, the retrain."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from config import Settings
from connectors import SqliteHistorian
from maintenance import (
    ClosureInvalidError,
    Failure,
    ModelStore,
    WorkRequestDesk,
    WorkRequestStore,
    closure_labels,
    parsed_closure,
    scored_machines,
    site_training_options,
    work_request_schema,
)
from models import ExitCode
from opcua_server.cli.options import Subcommands, add_site_options, print_line, site_settings_of


def work_request_store(settings: Settings) -> WorkRequestStore:
    """The site's work requests (``maintenance.cmms.work_requests_file`` under data_dir)."""
    return WorkRequestStore(Path(settings.data_dir) / settings.maintenance.cmms.work_requests_file)


def cmd_list(args: argparse.Namespace) -> int:
    store = work_request_store(site_settings_of(args))
    try:
        requests = store.all()
    finally:
        store.close()
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in requests], indent=2))
        return ExitCode.OK
    for r in requests:
        order = r.spare_part_order.order_id if r.spare_part_order else "-"
        print(
            f"{r.id}  {r.status.value:<11}  {r.priority.value:<6}  {r.asset}/{r.component}"
            f"  due {r.due_date:%Y-%m-%d %H:%M}  order {order}"
        )
    if not requests:
        print("no work requests")
    return ExitCode.OK


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def cmd_close(args: argparse.Namespace) -> int:
    try:
        closure = parsed_closure(
            {
                "failure_mode": args.failure_mode,
                "failure_mechanism": args.mechanism,
                "failure_cause": args.cause,
                "failed_at": _when(args.failed_at),
                "repaired_at": _when(args.repaired_at),
                "part_serial": args.part_serial,
                "closed_by": args.by,
                "notes": args.notes,
            }
        )
    except (ClosureInvalidError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.FAILURE
    store = work_request_store(site_settings_of(args))
    try:
        done = WorkRequestDesk(store).close_now(args.request, closure)
    finally:
        store.close()
    print(
        f"{done.id} {done.status.value}: {closure.failure_mode} / {closure.failure_mechanism}"
        f" / {closure.failure_cause}; a training label for {done.asset}/{done.component}"
    )
    return ExitCode.OK


def cmd_schema(_args: argparse.Namespace) -> int:
    print(json.dumps(work_request_schema(), indent=2, ensure_ascii=False))
    return ExitCode.OK


def cmd_retrain(args: argparse.Namespace) -> int:
    from maintenance import (  # the training code: pandas, scikit-learn
        retrain_from_historian,
        stop_when_cancelled,
    )

    settings = site_settings_of(args)
    data_dir = Path(settings.data_dir)

    async def retrain() -> int:
        store = work_request_store(settings)
        historian = SqliteHistorian(data_dir / settings.historian.sqlite_file)
        try:
            outcomes = await stop_when_cancelled(
                lambda stop: retrain_from_historian(
                    historian,
                    scored_machines(settings.site),
                    closure_labels(store.closed()),
                    ModelStore(data_dir / settings.maintenance.models_dir),
                    failures=args.failures,
                    start=_when(args.since) or datetime(1970, 1, 1, tzinfo=UTC),
                    options=site_training_options(settings),
                    progress=print_line,
                    stop=stop,
                ),
                print_line,
            )
        finally:
            await historian.close()
            store.close()
        return ExitCode.OK if outcomes else ExitCode.FAILURE

    return asyncio.run(retrain())


def add_maintenance_commands(sub: Subcommands) -> None:
    """`trustfloor maintenance list|close|schema|retrain`."""
    group = sub.add_parser("maintenance", help="work requests for the CMMS and their closures")
    commands = group.add_subparsers(dest="maintenance_command", required=True)

    listing = commands.add_parser("list", help="work requests, oldest first")
    listing.add_argument("--json", action="store_true")
    add_site_options(listing)
    listing.set_defaults(func=cmd_list)

    close = commands.add_parser(
        "close", help="close a work request with what was found (a training label)"
    )
    close.add_argument("request", help="work request id, e.g. WR-000012")
    close.add_argument("--failure-mode", required=True, help="ISO 14224 failure mode, e.g. VIB")
    close.add_argument("--mechanism", required=True, help="ISO 14224 mechanism, e.g. 2.4 (wear)")
    close.add_argument("--cause", required=True, help="ISO 14224 cause, e.g. 3.4 (wear and tear)")
    close.add_argument("--failed-at", help="ISO 8601 time it failed")
    close.add_argument("--repaired-at", help="ISO 8601 time the part was fitted")
    close.add_argument("--part-serial", default="", help="serial of the part fitted")
    close.add_argument("--by", default="", help="who closes it")
    close.add_argument("--notes", default="")
    add_site_options(close)
    close.set_defaults(func=cmd_close)

    schema = commands.add_parser("schema", help="the work request's JSON Schema")
    schema.set_defaults(func=cmd_schema)

    retrain = commands.add_parser(
        "retrain",
        help="retrain from the historian with the closures as labels; a model is replaced "
        "only when better on held-out runs (older versions are kept)",
    )
    retrain.add_argument(
        "--failures", type=Path, help="more failures: CSV machine,component,failed_at[,replaced_at]"
    )
    retrain.add_argument("--since", help="ISO 8601 start of the historian data to use")
    add_site_options(retrain)
    retrain.set_defaults(func=cmd_retrain)


def closed_work_request_labels(settings: Settings) -> tuple[Failure, ...]:
    """The failures closed work requests report (none when the site has no work requests)."""
    path = Path(settings.data_dir) / settings.maintenance.cmms.work_requests_file
    if not path.exists():
        return ()
    store = WorkRequestStore(path)
    try:
        return closure_labels(store.closed())
    finally:
        store.close()
