"""``trustfloor archive export | verify | prune``: documents and proofs kept as plain files."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from ledger import LedgerStore, archive, recall
from models import ExitCode
from opcua_server.cli.options import Subcommands, add_site_options, site_settings_of
from opcua_server.cli.trace import moment
from opcua_server.runtime.archives import prune_samples, verify_archive


def add_archive_commands(sub: Subcommands) -> None:
    """``archive`` with export, verify and prune."""
    group = sub.add_parser("archive", help="self-contained archives").add_subparsers(
        dest="archive_command", required=True
    )
    export = group.add_parser("export", help="write documents, proofs and a manifest to DIR")
    export.add_argument("dir", type=Path)
    export.add_argument(
        "--from", dest="start", type=moment, metavar="TIME", help="issued at or after"
    )
    export.add_argument(
        "--until", type=moment, metavar="TIME", help="issued before (default: everything)"
    )
    add_site_options(export)
    export.set_defaults(func=cmd_archive_export)

    verify = group.add_parser(
        "verify", help="check an archive with no database and no network (exit 0: all holds)"
    )
    verify.add_argument("dir", type=Path)
    verify.add_argument(
        "--online",
        action="store_true",
        help="also check each anchor against the chain of --config (or the demo site)",
    )
    trust = verify.add_mutually_exclusive_group()
    trust.add_argument(
        "--issuers",
        type=Path,
        metavar="FILE",
        help="trusted issuer addresses (default: those the manifest names, with a note)",
    )
    trust.add_argument(
        "--trust-any-issuer", action="store_true", help="accept any issuer, with a warning"
    )
    add_site_options(verify)
    verify.set_defaults(func=cmd_archive_verify)

    prune = group.add_parser(
        "prune",
        help="delete the archived process samples of parts built more than "
        "archive.samples_retention_days ago (never a certificate or its evidence digest)",
    )
    add_site_options(prune)
    prune.set_defaults(func=cmd_archive_prune)


def cmd_archive_export(args: argparse.Namespace) -> int:
    settings = site_settings_of(args)
    data_dir = Path(settings.data_dir)
    store = LedgerStore(data_dir / settings.ledger.sqlite_file)
    campaigns = recall.CampaignStore(data_dir / recall.RECALLS_FILE)
    try:
        now = datetime.now(UTC)
        done = archive.export_archive(
            store,
            campaigns,
            args.dir,
            start=args.start,
            until=args.until,
            now=now,
            statements=archive.site_statements(data_dir),
        )
        if args.start is None:
            campaigns.record_archive(args.until or now, now, str(args.dir))
    finally:
        campaigns.close()
        store.close()
    print(
        f"wrote {done.folder}: {done.parts} part(s), {done.recalls} recall(s), {done.files} "
        f"files; manifest sha256 {done.manifest_sha256}"
    )
    return ExitCode.OK


def cmd_archive_verify(args: argparse.Namespace) -> int:
    settings = site_settings_of(args) if args.online else None
    verdict = asyncio.run(
        verify_archive(
            args.dir,
            issuers=args.issuers,
            any_issuer=args.trust_any_issuer,
            settings=settings,
        )
    )
    print(verdict.render())
    return ExitCode.OK if verdict.valid else ExitCode.INVALID


def cmd_archive_prune(args: argparse.Namespace) -> int:
    pruned = prune_samples(site_settings_of(args), datetime.now(UTC))
    if pruned is None:
        print("archive.samples_retention_days is not set: nothing pruned")
    elif pruned.before is None:
        print("no archive export yet: nothing pruned (samples go only once archived)")
    else:
        print(
            f"pruned {pruned.samples} sample(s) of {pruned.jobs} certified part(s) whose build "
            f"ended before {pruned.before.isoformat()}"
        )
    return ExitCode.OK
