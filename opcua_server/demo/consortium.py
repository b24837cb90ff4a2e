"""The demo's consortium services as processes of their own: the chain node and the witnesses."""

# The demo runs each party that is not the site in a process of its own, as a consortium would
# on machines of its own: `trustfloor chain serve` (the consortium admin's chain node, its
# state and key in <data_dir>/consortium) and one `trustfloor witness serve` per witness (the
# OEM's and the notary's, each with its key and state in <data_dir>/witnesses/<name>). The site
# connects to the node by URL. Each process dies with the demo (SIGTERM, on Linux).

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from config import Settings, WitnessEndpoint
from ledger import (
    ADMIN_KEY_FILE,
    Admission,
    ChainServiceInfo,
    child_setup,
    init_oem,
    record_consortium,
    site_key,
    site_log_of,
)
from models import TrustfloorError

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0
CONSORTIUM_DIR = "consortium"
WITNESSES_DIR = "witnesses"
DEMO_WITNESSES = {"oem": "oem.demo/witness", "notary": "notary.demo/witness"}
"""The demo's witnesses: the OEM's and a consortium notary's, by label and key name."""


class PartyProcessError(TrustfloorError):
    """A consortium service of the demo did not start (it exited or named no address)."""

    advice = "Run the command it names by hand to see its error."


@dataclass(frozen=True, slots=True)
class RunningParty:
    """A started service: its process and the lines it printed until it was ready."""

    process: asyncio.subprocess.Process
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunningWitness:
    """A witness process's URL and verifier key (name+hash+key, C2SP signed-note)."""

    name: str
    url: str
    vkey: str


def trustfloor_command(*args: str) -> list[str]:
    """The argument vector of a ``trustfloor`` service command (chain serve, witness serve)
    run with this interpreter, through the entry point that loads only those commands."""
    return [sys.executable, "-m", "opcua_server.cli.services", *args]


@asynccontextmanager
async def party_process(
    argv: Sequence[str], ready: Callable[[str], bool]
) -> AsyncIterator[RunningParty]:
    """Start ``argv``, read its output until a line satisfies ``ready``, stop it on exit
    (SIGTERM, SIGKILL after a grace period)."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=child_setup(),
        process_group=0,  # Ctrl+C stops the site first; it stops its services last
    )
    try:
        lines = await _read_until_ready(process, ready, " ".join(argv[3:]))
        yield RunningParty(process, lines)
    finally:
        await _stop(process)


async def _read_until_ready(
    process: asyncio.subprocess.Process, ready: Callable[[str], bool], what: str
) -> tuple[str, ...]:
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            while raw := await process.stdout.readline():
                lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                if ready(lines[-1]):
                    return tuple(lines)
    except TimeoutError:
        raise PartyProcessError(
            f"`trustfloor {what}` was not ready within {READY_TIMEOUT_S:.0f} s"
        ) from None
    status = await process.wait()
    raise PartyProcessError(f"`trustfloor {what}` exited with status {status} before it served")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        async with asyncio.timeout(STOP_GRACE_S):
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()


@asynccontextmanager
async def chain_service(
    folder: Path, chain_id: int, admit: Admission
) -> AsyncIterator[ChainServiceInfo]:
    """``trustfloor chain serve`` in ``folder`` on a free port, admitting ``admit``'s parties."""
    argv = trustfloor_command("chain", "serve", "--data-dir", str(folder), "--port", "0")
    argv += ["--chain-id", str(chain_id)]
    for issuer in admit.issuers:
        argv += ["--issuer", issuer]
    for oem in admit.oems:
        argv += ["--oem", oem]
    async with party_process(argv, lambda line: line.startswith("chain ready ")) as party:
        yield ChainServiceInfo.from_ready_line(party.lines[-1])


@asynccontextmanager
async def witness_service(
    folder: Path, name: str, log_vkeys: Sequence[str]
) -> AsyncIterator[RunningWitness]:
    """``trustfloor witness serve`` named ``name`` in ``folder`` on a free port, witnessing the
    logs of ``log_vkeys``."""
    argv = trustfloor_command("witness", "serve", "--data-dir", str(folder), "--name", name)
    for vkey in log_vkeys:
        argv += ["--log", vkey]
    argv += ["--port", "0"]
    async with party_process(argv, lambda line: line.startswith("listening on ")) as party:
        vkey = next(line.split()[1] for line in party.lines if line.startswith("witness "))
        yield RunningWitness(name, party.lines[-1].split()[-1], vkey)


@asynccontextmanager
async def demo_consortium(
    settings: Settings, environ: Mapping[str, str]
) -> AsyncIterator[tuple[Settings, dict[str, str]]]:
    """The demo site's consortium as processes of their own: the chain node (admitting the site
    and the demo's OEM) and the OEM's and the notary's witnesses of the site log. Yields the
    site's settings pointing at them (chain.url, chain.contract_address, ledger.witnesses,
    ledger.witness_quorum 2) and the environment holding the site's key; stops them on exit.

    The site's key is the variable's or ``<data_dir>/chain/site.key``, the OEM's
    ``<data_dir>/oem/oem.key``, the log's ``<data_dir>/log.key``; the node's state and the
    admin's key are in ``<data_dir>/consortium``, each witness's in ``<data_dir>/witnesses``;
    the site's chain folder records the node, so that commands on the data directory use it.
    """
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    site = site_key(settings, environ)
    site_environ = {**environ, settings.chain.key_env: site.secret_hex()}
    oem = init_oem(settings, environ).address
    log_key = site_log_of(settings, environ).verifier
    assert log_key is not None
    admit = Admission(issuers=(site.address,), oems=(oem,))
    data_dir = settings.data_dir
    consortium = data_dir / CONSORTIUM_DIR
    async with AsyncExitStack() as services:
        started = await asyncio.gather(
            services.enter_async_context(chain_service(consortium, settings.chain.chain_id, admit)),
            *(
                services.enter_async_context(
                    witness_service(data_dir / WITNESSES_DIR / label, name, [log_key.vkey()])
                )
                for label, name in DEMO_WITNESSES.items()
            ),
            return_exceptions=True,  # each one started is stopped by the stack
        )
        chain, witnesses = _started(started)
        record_consortium(settings, chain.url, chain.contract, consortium / ADMIN_KEY_FILE)
        log.info("demo: the consortium's chain node %s serves ledger %s", chain.url, chain.contract)
        for label, witness in zip(DEMO_WITNESSES, witnesses, strict=True):
            log.info("demo: witness %s %s listens on %s", label, witness.vkey, witness.url)
        yield consortium_settings(settings, chain, witnesses), site_environ


def _started(
    results: Sequence[object],
) -> tuple[ChainServiceInfo, list[RunningWitness]]:
    """The chain node and the witnesses, once all started; the first failure otherwise."""
    for result in results:
        if isinstance(result, BaseException):
            raise result
    chain, *witnesses = results
    assert isinstance(chain, ChainServiceInfo)
    return chain, [w for w in witnesses if isinstance(w, RunningWitness)]


def consortium_settings(
    settings: Settings, chain: ChainServiceInfo, witnesses: Sequence[RunningWitness]
) -> Settings:
    """``settings`` pointing at the consortium's chain node and cosigned by ``witnesses``, all
    of which a bundle needs."""
    chain_settings = settings.chain.model_copy(
        update={"url": chain.url, "chain_id": chain.chain_id, "contract_address": chain.contract}
    )
    endpoints = tuple(
        WitnessEndpoint(name=label, key=w.vkey, url=w.url)
        for label, w in zip(DEMO_WITNESSES, witnesses, strict=True)
    )
    ledger = settings.ledger.model_copy(
        update={"witnesses": endpoints, "witness_quorum": len(endpoints)}
    )
    return settings.model_copy(update={"chain": chain_settings, "ledger": ledger})
