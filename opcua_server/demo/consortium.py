"""The demo's consortium services as processes of their own: the chain node and the witnesses."""

# The demo runs each party that is not the site in a process of its own, as a consortium would
# on machines of its own: `trustfloor chain serve` (the consortium admin's chain node, its
# state and key in <data_dir>/consortium) and one `trustfloor witness serve` per witness (the
# OEM's and the notary's, each with its key and state in <data_dir>/witnesses/<name>). The site
# connects to the node by URL. Each process dies with the demo (SIGTERM, on Linux).

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ledger import Admission, ChainServiceInfo, child_setup
from models import TrustfloorError

READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0


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
    """The argument vector of a ``trustfloor`` command run with this interpreter."""
    return [sys.executable, "-m", "opcua_server.cli", *args]


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
