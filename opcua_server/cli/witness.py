"""``trustfloor witness``: a C2SP tlog-witness over HTTP with its own key and state."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType

from ledger import (
    COSIGNATURE_V1,
    Verifier,
    Witness,
    WitnessAnswer,
    WitnessState,
    load_or_create_signer,
    log_status,
    site_log_of,
)
from models import ExitCode
from opcua_server.cli.options import Subcommands, add_site_options, site_settings_of

MAX_BODY = 64 * 1024
"""Bytes an add-checkpoint request may carry (63 proof lines and a checkpoint fit easily)."""
KEY_FILE, STATE_FILE = "witness.key", "witness.json"


def add_witness_commands(sub: Subcommands) -> None:
    """``witness serve``, ``witness key`` and ``witness evidence``."""
    witness = sub.add_parser("witness", help="cosign a site log's checkpoints (C2SP tlog-witness)")
    commands = witness.add_subparsers(dest="witness_command", required=True)
    serve = commands.add_parser("serve", help="answer add-checkpoint over HTTP")
    add_witness_options(serve)
    serve.add_argument(
        "--log",
        action="append",
        default=[],
        required=True,
        help="verifier key of a log to witness (its name is the checkpoint origin); repeatable",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    serve.set_defaults(func=cmd_witness_serve)
    key = commands.add_parser("key", help="print the witness's verifier key (made on first use)")
    add_witness_options(key)
    key.set_defaults(func=cmd_witness_key)
    log_key = commands.add_parser(
        "log-key", help="print the site log's verifier key, for the witnesses' --log"
    )
    add_site_options(log_key)
    log_key.set_defaults(func=cmd_witness_log_key)
    log = commands.add_parser(
        "log", help="the site log's checkpoints and the witnesses that cosigned each, as JSON"
    )
    add_site_options(log)
    log.set_defaults(func=cmd_witness_log)
    evidence = commands.add_parser("evidence", help="split views seen, as JSON")
    evidence.add_argument("--data-dir", type=Path, default=Path("var/witness"))
    evidence.set_defaults(func=cmd_witness_evidence)


def add_witness_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=Path("var/witness"), help="the witness's key and state"
    )
    parser.add_argument(
        "--name", required=True, help="the witness's key name, e.g. notary.example/witness"
    )


def cmd_witness_key(args: argparse.Namespace) -> int:
    signer = load_or_create_signer(args.data_dir / KEY_FILE, args.name, COSIGNATURE_V1)
    print(signer.verifier().vkey())
    return ExitCode.OK


def cmd_witness_log_key(args: argparse.Namespace) -> int:
    """The site's log key (made on first use) as a verifier key named by the log's origin."""
    verifier = site_log_of(site_settings_of(args), os.environ).verifier
    assert verifier is not None
    print(verifier.vkey())
    return ExitCode.OK


def cmd_witness_log(args: argparse.Namespace) -> int:
    print(json.dumps(log_status(site_settings_of(args)), indent=2))
    return ExitCode.OK


def cmd_witness_evidence(args: argparse.Namespace) -> int:
    state = WitnessState.load(args.data_dir / STATE_FILE)
    print(json.dumps([asdict(item) for item in state.evidence], indent=2))
    return ExitCode.OK if not state.evidence else ExitCode.INVALID


def cmd_witness_serve(args: argparse.Namespace) -> int:
    signer = load_or_create_signer(args.data_dir / KEY_FILE, args.name, COSIGNATURE_V1)
    logs: dict[str, list[Verifier]] = {}
    for vkey in args.log:
        verifier = Verifier.from_vkey(vkey)
        logs.setdefault(verifier.name, []).append(verifier)
    witness = Witness(signer, logs, args.data_dir / STATE_FILE, lambda: int(time.time()))
    server = ThreadingHTTPServer((args.host, args.port), handler_for(witness))
    host, port = server.server_address[:2]
    print(f"witness {signer.verifier().vkey()}", flush=True)
    print(f"listening on http://{host!s}:{port}", flush=True)
    stop_on_signals(server)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return ExitCode.OK


def stop_on_signals(server: ThreadingHTTPServer) -> None:
    """SIGTERM and SIGINT end ``serve_forever`` (from another thread, as it requires)."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def handler_for(witness: Witness) -> type[BaseHTTPRequestHandler]:
    """A request handler serving POST /add-checkpoint for ``witness``."""

    class WitnessHandler(BaseHTTPRequestHandler):
        server_version = "trustfloor-witness"

        def do_POST(self) -> None:  # the name http.server calls
            if self.path != "/add-checkpoint":
                self._answer(WitnessAnswer(404, "only POST /add-checkpoint is served\n"))
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self._answer(WitnessAnswer(400, f"a body of 1..{MAX_BODY} bytes is needed\n"))
                return
            try:
                body = self.rfile.read(length).decode("utf-8")
            except UnicodeDecodeError:
                self._answer(WitnessAnswer(400, "the body must be UTF-8\n"))
                return
            answer = witness.add_checkpoint(body)
            if answer.status == 422:
                sys.stderr.write(f"refused a checkpoint: {answer.body}")
            self._answer(answer)

        def _answer(self, answer: WitnessAnswer) -> None:
            data = answer.body.encode("utf-8")
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: refusals are reported above, successes need no line each."""

    return WitnessHandler
