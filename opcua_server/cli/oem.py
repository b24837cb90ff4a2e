"""`trustfloor oem ...`: the OEM's own commands, with its own key and data directory."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from config import Settings
from ledger import (
    CommandResult,
    LicenceTerms,
    accept_statement,
    grant_licence,
    init_oem,
    licence_period,
    oem_usage,
    parse_price,
    register_oem_design,
    render_usage,
    revoke_licence,
    seal_for_site,
)
from models import ExitCode
from opcua_server.cli.options import Subcommands, add_site_options, emit, site_settings_of


def oem_settings_of(args: argparse.Namespace) -> Settings:
    """The site options' settings, with ``--oem-dir`` as the OEM's data directory if given."""
    settings = site_settings_of(args)
    if args.oem_dir is None:
        return settings
    parties = settings.parties.model_copy(update={"oem_dir": args.oem_dir})
    return settings.model_copy(update={"parties": parties})


def _done(*lines: str) -> int:
    return emit(CommandResult(ExitCode.OK, "\n".join(lines) + "\n"))


def cmd_oem_init(args: argparse.Namespace) -> int:
    settings = oem_settings_of(args)
    identity = init_oem(settings, os.environ)
    kept = "new key" if identity.created else "key"
    return _done(
        f"OEM {identity.address}",
        f"  {kept:<9} {identity.key_source}",
        "  next      the consortium admin allow-lists it: "
        f"trustfloor consortium allow --oem {identity.address}",
    )


def cmd_oem_design_register(args: argparse.Namespace) -> int:
    settings = oem_settings_of(args)
    design, already = asyncio.run(register_oem_design(settings, args.folder, os.environ))
    chain = "already registered with this dossier" if already else f"registered by {design.tx_hash}"
    return _done(
        f"design {design.label}",
        f"  dossier    {design.dossier_sha256}",
        f"  key        0x{design.key.hex()}",
        f"  chain      {chain}",
    )


def cmd_oem_design_seal(args: argparse.Namespace) -> int:
    settings = oem_settings_of(args)
    address, path = seal_for_site(settings, args.folder, args.site_key, os.environ, args.out)
    return _done(f"sealed dossier {address}", f"  written    {path}")


def cmd_oem_licence_grant(args: argparse.Namespace) -> int:
    settings = oem_settings_of(args)
    start, end = licence_period(args.valid_from, args.valid_until)
    price, currency = parse_price(*args.price) if args.price else (0, "")
    terms = LicenceTerms(args.pieces, start, end, args.overdraft, price, currency)
    design, tx_hash = asyncio.run(
        grant_licence(settings, args.design, args.site, terms, os.environ)
    )
    return _done(
        f"licence of {design.label} for {args.site}: {args.pieces} pieces "
        f"(+{args.overdraft} overdraft)",
        f"  chain      set by {tx_hash}",
    )


def cmd_oem_licence_revoke(args: argparse.Namespace) -> int:
    settings = oem_settings_of(args)
    design, tx_hash = asyncio.run(revoke_licence(settings, args.design, args.site, os.environ))
    done = f"revoked by {tx_hash}" if tx_hash else "was revoked already"
    return _done(f"licence of {design.label} for {args.site}: {done}")


def cmd_oem_usage(args: argparse.Namespace) -> int:
    rows = asyncio.run(oem_usage(oem_settings_of(args), os.environ, args.statements))
    return emit(CommandResult(ExitCode.OK, render_usage(rows, as_json=args.json)))


def cmd_oem_statement_accept(args: argparse.Namespace) -> int:
    return emit(asyncio.run(accept_statement(oem_settings_of(args), args.file, os.environ)))


def _oem_options(parser: argparse.ArgumentParser) -> None:
    add_site_options(parser)
    parser.add_argument(
        "--oem-dir", type=Path, help="the OEM's data directory (default <data_dir>/oem)"
    )


def add_oem_commands(sub: Subcommands) -> None:
    """``oem init``, ``oem design register``, ``oem licence grant|revoke``, ``oem usage``."""
    oem = sub.add_parser("oem", help="the OEM's commands (its own key and data directory)")
    commands = oem.add_subparsers(dest="oem_command", required=True)

    init = commands.add_parser("init", help="create the OEM's key (0600) and print its address")
    _oem_options(init)
    init.set_defaults(func=cmd_oem_init)

    design = commands.add_parser("design", help="the OEM's design dossiers").add_subparsers(
        dest="oem_design_command", required=True
    )
    register = design.add_parser("register", help="register a design folder's dossier hash")
    register.add_argument("folder", type=Path)
    _oem_options(register)
    register.set_defaults(func=cmd_oem_design_register)
    seal = design.add_parser("seal", help="seal a registered design folder for one site")
    seal.add_argument("folder", type=Path)
    seal.add_argument(
        "--site-key", required=True, help="the site's public key (trustfloor dossier public-key)"
    )
    seal.add_argument("--out", type=Path, help="folder to write to (default <oem_dir>/sealed)")
    _oem_options(seal)
    seal.set_defaults(func=cmd_oem_design_seal)

    licence = commands.add_parser("licence", help="licences of the OEM's designs")
    licences = licence.add_subparsers(dest="oem_licence_command", required=True)
    grant = licences.add_parser("grant", help="grant a site a licence, or change its terms")
    grant.add_argument("design", help="ID@REVISION, or ID for its latest revision")
    grant.add_argument("site", help="the site's address")
    grant.add_argument("--pieces", type=int, required=True, help="the quota")
    grant.add_argument("--from", dest="valid_from", metavar="DATE", help="first day (UTC)")
    grant.add_argument("--until", dest="valid_until", metavar="DATE", help="last day (UTC)")
    grant.add_argument("--overdraft", type=int, default=0, help="pieces allowed past the quota")
    grant.add_argument(
        "--price", nargs=2, metavar=("AMOUNT", "CURRENCY"), help="per piece, e.g. 12.50 EUR"
    )
    _oem_options(grant)
    grant.set_defaults(func=cmd_oem_licence_grant)
    revoke = licences.add_parser("revoke", help="revoke a site's licence")
    revoke.add_argument("design", help="ID@REVISION, or ID for its latest revision")
    revoke.add_argument("site", help="the site's address")
    _oem_options(revoke)
    revoke.set_defaults(func=cmd_oem_licence_revoke)

    usage = commands.add_parser("usage", help="per design and site: terms and pieces counted")
    usage.add_argument("--json", action="store_true")
    usage.add_argument(
        "--statements",
        type=Path,
        nargs="*",
        default=[],
        metavar="PATH",
        help="the sites' statement files or folders: adds the pieces they report started, "
        "certified, failed, revoked and credited",
    )
    _oem_options(usage)
    usage.set_defaults(func=cmd_oem_usage)

    statement = commands.add_parser("statement", help="a site's billing statements")
    statements = statement.add_subparsers(dest="oem_statement_command", required=True)
    accept = statements.add_parser(
        "accept", help="check a statement against the chain and countersign it (in place)"
    )
    accept.add_argument("file", type=Path)
    _oem_options(accept)
    accept.set_defaults(func=cmd_oem_statement_accept)
