"""The `trustfloor` command line: the only place where errors become exit codes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import getpass
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config import (
    MaintenanceSettings,
    Settings,
    WebSettings,
    json_schema,
    load_demo_settings,
    load_settings,
)
from connectors import SqliteHistorian
from ledger import (
    certificate_show,
    design_register,
    verify_bundle_files,
    witness_policy,
)
from maintenance import (
    AlertRow,
    AlertStore,
    HeldBackReport,
    SqliteOrderBook,
    active_alert_rows,
    held_back_report,
    render_alert_table,
    render_held_back,
)
from models import ExitCode
from opcua_server.cli.archive import add_archive_commands
from opcua_server.cli.billing import add_billing_commands
from opcua_server.cli.chain import add_chain_commands
from opcua_server.cli.console import DEMO_PASSWORD_ENV, print_demo_banner, run_site
from opcua_server.cli.consortium import add_consortium_commands
from opcua_server.cli.dossier import add_dossier_commands
from opcua_server.cli.exports import add_export_arguments, add_status_list_command
from opcua_server.cli.maintenance import add_maintenance_commands, closed_work_request_labels
from opcua_server.cli.oem import add_oem_commands
from opcua_server.cli.options import (
    CommandGroup,
    add_site_options,
    emit,
    print_line,
    site_settings_of,
)
from opcua_server.cli.parts import add_parts_commands
from opcua_server.cli.printers import add_printers_commands
from opcua_server.cli.recall import add_recall_commands
from opcua_server.cli.running import run_command
from opcua_server.cli.trace import add_trace_commands
from opcua_server.cli.witness import add_witness_commands
from opcua_server.demo.consortium import demo_consortium
from opcua_server.runtime.site import Site
from opcua_server.security.passwords import hash_password


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # Their failures are reported once, with context, by our connectors and server.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    logging.getLogger("asyncua").setLevel(logging.WARNING)
    # The companion nodesets' import notes quirks of the published files at every start.
    logging.getLogger("asyncua.common.xmlimporter").setLevel(logging.ERROR)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run otherwise
    logging.getLogger("web3").setLevel(logging.WARNING)  # one line per IPC connect otherwise


def cmd_serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, runs_site=True)
    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    configure_logging(args.verbose)
    asyncio.run(run_site(Site(settings), duration_s=args.duration, status=args.status))
    leave_to_exit()
    return ExitCode.OK


def leave_to_exit() -> None:
    """Once the site has stopped and closed its stores, leave what it built to the process's
    exit: frozen, it is not traversed by the interpreter's last full collections (they took
    about 3.4 s of the demo's 6.1 s exit after Ctrl+C; 2.7 s without them)."""
    gc.freeze()


def cmd_demo(args: argparse.Namespace) -> int:
    password = os.environ.get(DEMO_PASSWORD_ENV) or secrets.token_urlsafe(12)
    os.environ[DEMO_PASSWORD_ENV] = password
    settings = load_demo_settings(args.data_dir)
    metrics_port = 0 if args.port == 0 else settings.server.metrics_port
    server = settings.server.model_copy(update={"port": args.port, "metrics_port": metrics_port})
    speed = args.speed if args.speed is not None else settings.simulation.time_compression
    simulation = settings.simulation.model_copy(
        update={"seed": args.seed, "time_compression": speed}
    )
    web = settings.web.model_copy(
        update={"enabled": True, "port": 0 if args.port == 0 else settings.web.port}
    )
    ledger = settings.ledger.model_copy(update={"public_base_url": demo_public_url(web)})
    settings = settings.model_copy(
        update={"server": server, "simulation": simulation, "web": web, "ledger": ledger}
    )
    configure_logging(args.verbose)
    banner = functools.partial(print_demo_banner, password=password)
    asyncio.run(run_demo(settings, args.duration, banner))
    leave_to_exit()
    return ExitCode.OK


async def run_demo(
    settings: Settings, duration_s: float | None, banner: Callable[[Site], None]
) -> None:
    """The demo site beside its consortium's chain node and witnesses, each its own process."""
    async with demo_consortium(settings, os.environ) as (joined, environ):
        site = Site(joined, environ=environ, demo_designs=True, excursion_every=3, demo_loop=True)
        await run_site(site, duration_s=duration_s, status=True, on_started=banner, summary=True)


def demo_public_url(web: WebSettings) -> str:
    """The demo's certificates point to its own console's /verify page, when its port is fixed
    (``--port 0`` picks it at start, after the certificates' address is decided: none then)."""
    return f"http://127.0.0.1:{web.port}" if web.port else ""


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = load_settings(
        args.config, check_secrets=not args.no_secrets, check_files=True, runs_site=True
    )
    site = settings.site
    tags = sum(len(m.tags) for m in site.machines) + sum(len(m.tags) for m in site.opcua_machines)
    machines = len(site.machines) + len(site.opcua_machines)
    print(
        f"{args.config}: OK ({machines} machines, {tags} tags,"
        f" {len(site.printers)} printers, endpoint {settings.server.endpoint})"
    )
    return ExitCode.OK


def cmd_config_schema(_args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return ExitCode.OK


def cmd_hash_password(_args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("passwords differ", file=sys.stderr)
            return ExitCode.FAILURE
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("empty password refused", file=sys.stderr)
        return ExitCode.FAILURE
    print(hash_password(password))
    return ExitCode.OK


def cmd_history(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, check_secrets=False)
    path = Path(settings.data_dir) / settings.historian.sqlite_file
    end = datetime.now(UTC)
    start = end - timedelta(seconds=args.since)
    historian = SqliteHistorian(path)
    readings = asyncio.run(historian.query(args.machine, args.tag, start, end, args.limit))
    for reading in readings:
        value = "" if reading.value is None else reading.value
        reason = f" ({reading.reason})" if reading.reason else ""
        print(f"{reading.source_ts.isoformat()}\t{value}\t{reading.quality}{reason}")
    print(f"{len(readings)} reading(s)", file=sys.stderr)
    return ExitCode.OK


def cmd_design_register(args: argparse.Namespace) -> int:
    return emit(asyncio.run(design_register(site_settings_of(args), args.folder)))


def cmd_certificate_show(args: argparse.Namespace) -> int:
    return emit(certificate_show(site_settings_of(args), args.serial))


def cmd_certificate_report(args: argparse.Namespace) -> int:
    from ledger import certificate_report  # matplotlib loads only for this command

    return emit(certificate_report(site_settings_of(args), args.serial, args.out))


def cmd_verify(args: argparse.Namespace) -> int:
    from ledger import pinned_validators  # the QBFT header checks (rlp) load for verify only

    settings = site_settings_of(args)
    return emit(
        asyncio.run(
            verify_bundle_files(
                args.bundle,
                settings,
                offline=args.offline,
                issuers=args.issuers,
                trust_any_issuer=args.trust_any_issuer,
                witnesses=witness_policy(
                    settings,
                    args.witnesses,
                    args.quorum,
                    log_keys=args.log_keys,
                    accept_pre_log=args.accept_pre_log,
                ),
                validators=pinned_validators(settings, args.validators),
            )
        )
    )


def cmd_alerts(args: argparse.Namespace) -> int:
    settings = site_settings_of(args)
    m = settings.maintenance
    data_dir = Path(settings.data_dir)

    async def rows() -> list[AlertRow]:
        store = AlertStore(data_dir / m.alerts_file)
        orders = SqliteOrderBook(data_dir / m.orders_file)
        try:
            return await active_alert_rows(store, orders)
        finally:
            store.close()
            await orders.close()

    if args.suppressed:
        return show_held_back(data_dir / m.alerts_file, m, args.json)
    found = asyncio.run(rows())
    if args.json:
        print(json.dumps([row.model_dump(mode="json") for row in found], indent=2))
    else:
        print(render_alert_table(found))
    return ExitCode.OK


def show_held_back(path: Path, settings: MaintenanceSettings, as_json: bool) -> int:
    """`trustfloor alerts --suppressed`: alerts held back, and each machine's budget."""

    async def report() -> HeldBackReport:
        store = AlertStore(path)
        try:
            return await held_back_report(store, settings, datetime.now(UTC))
        finally:
            store.close()

    found = asyncio.run(report())
    print(found.model_dump_json(indent=2) if as_json else render_held_back(found))
    return ExitCode.OK


def cmd_train(args: argparse.Namespace) -> int:
    from maintenance import FileSource, HistorianSource, stop_when_cancelled, train_command

    settings = site_settings_of(args)
    data_dir = Path(settings.data_dir)
    out = data_dir / settings.maintenance.models_dir

    async def train() -> int:
        historian = SqliteHistorian(data_dir / settings.historian.sqlite_file)
        source: FileSource | HistorianSource
        if args.from_file is not None:
            columns = tuple(c for c in (args.settings or "").split(",") if c)
            source = FileSource(args.from_file, args.name, settings=columns)
        else:
            start = (
                datetime.fromisoformat(args.since)
                if args.since
                else datetime(1970, 1, 1, tzinfo=UTC)
            )
            source = HistorianSource(historian, args.failures, start, closures=closures)
        try:
            reports = await stop_when_cancelled(
                lambda stop: train_command(settings, source, out, print_line, stop=stop),
                print_line,
            )
        finally:
            await historian.close()
        for report in reports:
            print(report)
        return ExitCode.OK

    closures = closed_work_request_labels(settings)
    if args.from_file is None and args.failures is None and not closures:
        print(
            "give --from-file FILE (run-to-failure data) or --failures FILE (historian), "
            "or close work requests (trustfloor maintenance close) to label failures",
            file=sys.stderr,
        )
        return ExitCode.FAILURE
    return asyncio.run(train())


def add_ledger_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    design = sub.add_parser(
        "design", help="the site's own (in-house) design dossiers; an OEM's: trustfloor oem"
    ).add_subparsers(dest="design_command", required=True)
    register = design.add_parser(
        "register",
        help="register a design of the site's own with the site's key (licences are granted "
        "by the design's OEM: trustfloor oem licence grant)",
    )
    register.add_argument("folder", type=Path)
    add_site_options(register)
    register.set_defaults(func=cmd_design_register)

    certificate = sub.add_parser("certificate", help="part certificates").add_subparsers(
        dest="certificate_command", required=True
    )
    show = certificate.add_parser("show", help="a part's certificate and where it stands")
    show.add_argument("serial")
    add_site_options(show)
    show.set_defaults(func=cmd_certificate_show)
    export = certificate.add_parser(
        "export", help="a part's proof bundle (JSON) or another format, on stdout"
    )
    export.add_argument("serial")
    add_site_options(export)
    add_export_arguments(export)
    add_status_list_command(certificate)
    report = certificate.add_parser("report", help="a printable HTML report of a part")
    report.add_argument("serial")
    report.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    add_site_options(report)
    report.set_defaults(func=cmd_certificate_report)

    verify = sub.add_parser(
        "verify",
        help="verify a proof bundle (exit 0 valid, 3 invalid, 4 rejected, 5 issuer not trusted)",
    )
    verify.add_argument(
        "bundle",
        type=Path,
        nargs="+",
        help="one or more bundles; several are also compared "
        "for a split view (two checkpoints of one size with different roots)",
    )
    verify.add_argument(
        "--offline", action="store_true", help="signature, inclusion and pinned issuers only"
    )
    trust = verify.add_mutually_exclusive_group()
    trust.add_argument(
        "--issuers",
        type=Path,
        metavar="FILE",
        help="trusted issuer addresses: one per line (# comments) or a JSON array "
        "(default: ledger.trusted_issuers)",
    )
    trust.add_argument(
        "--trust-any-issuer",
        action="store_true",
        help="offline with no trusted issuers: accept any issuer, with a warning",
    )
    verify.add_argument(
        "--witnesses",
        type=Path,
        metavar="FILE",
        help="witness keys a checkpoint's cosignatures are checked with: one a line, "
        "'<name> <verifier key>' or the verifier key alone (# comments) "
        "(default: ledger.witnesses)",
    )
    verify.add_argument(
        "--quorum",
        type=int,
        metavar="K",
        help="cosignatures of those witnesses each checkpoint needs (default: "
        "ledger.witness_quorum; with --witnesses, every witness of the file)",
    )
    verify.add_argument(
        "--log-keys",
        type=Path,
        metavar="FILE",
        help="site log keys to trust: one verifier key a line (# comments); a bundle's log key "
        "must be one of them (default: ledger.log_keys; none: the bundle's own is used)",
    )
    verify.add_argument(
        "--accept-pre-log",
        action="store_true",
        help="with a witness quorum, still accept format 1 bundles, which carry no checkpoint "
        "(default: ledger.accept_pre_log_bundles)",
    )
    verify.add_argument(
        "--validators",
        type=Path,
        metavar="FILE",
        help="pinned QBFT validator addresses (one per line, # comments, or a JSON array; "
        "default: chain.validators): each anchor's block header must carry a quorum of their "
        "commit seals",
    )
    add_site_options(verify)
    verify.set_defaults(func=cmd_verify)

    alerts = sub.add_parser("alerts", help="active maintenance alerts with their print orders")
    alerts.add_argument("--json", action="store_true")
    alerts.add_argument(
        "--suppressed",
        action="store_true",
        help="alerts the calibrated policy held back (with why) and each machine's budget",
    )
    add_site_options(alerts)
    alerts.set_defaults(func=cmd_alerts)

    train = sub.add_parser("train", help="train the anomaly and RUL models")
    train.add_argument("--from-file", type=Path, help="run-to-failure CSV/Parquet or C-MAPSS file")
    train.add_argument("--name", default="mill-1", help="model group the file's models are for")
    train.add_argument("--settings", help="comma-separated operating-setting columns of the file")
    train.add_argument(
        "--failures", type=Path, help="CSV machine,component,failed_at[,replaced_at]"
    )
    train.add_argument("--since", help="ISO 8601 start of the historian data to use")
    add_site_options(train)
    train.set_defaults(func=cmd_train)


# Each feature area registers its subcommands here (one module per area under cli/).
COMMAND_GROUPS: tuple[CommandGroup, ...] = (
    add_ledger_commands,
    add_trace_commands,
    add_recall_commands,
    add_archive_commands,
    add_parts_commands,
    add_oem_commands,
    add_consortium_commands,
    add_chain_commands,
    add_billing_commands,
    add_dossier_commands,
    add_printers_commands,
    add_witness_commands,
    add_maintenance_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trustfloor", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the site described by a config file")
    serve.add_argument("--config", type=Path, required=True)
    serve.add_argument("--data-dir", type=Path, help="override data_dir from the config")
    serve.add_argument("--duration", type=float, help="stop after this many seconds")
    serve.add_argument("--status", action="store_true", help="print a live status line")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="run the bundled simulated site on embedded defaults")
    demo.add_argument("--data-dir", type=Path, default=Path("var"))
    demo.add_argument("--port", type=int, default=4840, help="OPC UA port (0 picks a free one)")
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    demo.add_argument("--seed", type=int, default=0, help="seed of the simulated machines")
    demo.add_argument(
        "--speed",
        type=float,
        help="simulated seconds per real second (default 3600: an hour of wear per second)",
    )
    demo.set_defaults(func=cmd_demo)

    check = sub.add_parser("check-config", help="validate a config file and list every problem")
    check.add_argument("config", type=Path)
    check.add_argument(
        "--no-secrets", action="store_true", help="do not require the password env variables"
    )
    check.set_defaults(func=cmd_check_config)

    schema = sub.add_parser("config-schema", help="print the config's JSON schema (for editors)")
    schema.set_defaults(func=cmd_config_schema)

    hashpw = sub.add_parser("hash-password", help="hash a password for server.users.password_hash")
    hashpw.set_defaults(func=cmd_hash_password)

    history = sub.add_parser("history", help="print stored readings of one tag")
    history.add_argument("--config", type=Path, required=True)
    history.add_argument("machine")
    history.add_argument("tag")
    history.add_argument("--since", type=float, default=3600.0, help="seconds back from now")
    history.add_argument("--limit", type=int, default=1000)
    history.set_defaults(func=cmd_history)
    for add_commands in COMMAND_GROUPS:
        add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse the command line and run the command (errors become exit codes)."""
    return run_command(build_parser().parse_args(argv))


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
