"""``trustfloor chain serve``: the consortium's chain node, run by its admin as its own process."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from ledger import Admission, consortium_chain
from models import ExitCode
from opcua_server.cli.options import Subcommands


def add_chain_commands(sub: Subcommands) -> None:
    """``chain serve`` (--data-dir DIR, --port, --chain-id, --issuer/--oem ADDRESS repeatable)."""
    chain = sub.add_parser("chain", help="the consortium's chain node (its admin's commands)")
    commands = chain.add_subparsers(dest="chain_command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the chain node on 127.0.0.1, deploy the ledger with the consortium admin's "
        "key and allow-list the parties named; prints `chain ready {json}` once it serves",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var/consortium"),
        help="the node's state, the admin's key (admin.key) and the deployment record",
    )
    serve.add_argument("--port", type=int, default=0, help="JSON-RPC port (0: any free port)")
    serve.add_argument("--chain-id", type=int, default=31337)
    serve.add_argument(
        "--issuer", action="append", default=[], metavar="ADDRESS", help="a site to allow-list"
    )
    serve.add_argument(
        "--oem", action="append", default=[], metavar="ADDRESS", help="an OEM to allow-list"
    )
    serve.set_defaults(func=cmd_chain_serve)


def cmd_chain_serve(args: argparse.Namespace) -> int:
    admit = Admission(issuers=tuple(args.issuer), oems=tuple(args.oem))
    asyncio.run(serve_until_stopped(args.data_dir, args.chain_id, args.port, admit))
    return ExitCode.OK


async def serve_until_stopped(folder: Path, chain_id: int, port: int, admit: Admission) -> None:
    """Serve until SIGTERM or SIGINT; the node then saves its state and stops."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    async with consortium_chain(folder, chain_id, port=port, admit=admit) as service:
        print(service.ready_line(), flush=True)
        await stopped.wait()
